#include "ir/schema.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "ferry/error.h"
#include "ir/ferry_schemas.h"
#include "ir/schema_text.h"

namespace ferry::ir {

namespace {

#include "ir/schemas_generated.inc"

using schema_text::split;
using schema_text::split_items;
using schema_text::to_int;
using schema_text::unescape;

FormalParameter parse_param(const std::vector<std::string_view>& f) {
  FormalParameter p;
  p.name = unescape(f.at(1));
  p.option = f.at(2) == "O" ? FormalParameter::Option::kOptional
             : f.at(2) == "V" ? FormalParameter::Option::kVariadic
                              : FormalParameter::Option::kSingle;
  p.type_constraint = unescape(f.at(3));
  p.min_arity = to_int(f.at(4));
  return p;
}

std::optional<Attribute> parse_default(const std::string& name, std::string_view kind, std::string_view value) {
  if (kind.empty()) return std::nullopt;
  const std::string v(value);
  switch (kind[0]) {
    case 'i': return Attribute::make_int(name, std::strtoll(v.c_str(), nullptr, 10));
    case 'f': return Attribute::make_float(name, std::strtof(v.c_str(), nullptr));
    case 's': return Attribute::make_string(name, unescape(value));
    case 'I': {
      std::vector<int64_t> ints;
      for (const std::string& item : split_items(value)) ints.push_back(std::strtoll(item.c_str(), nullptr, 10));
      return Attribute::make_ints(name, std::move(ints));
    }
    case 'F': {
      std::vector<float> floats;
      for (const std::string& item : split_items(value)) floats.push_back(std::strtof(item.c_str(), nullptr));
      return Attribute::make_floats(name, std::move(floats));
    }
    case 'S': return Attribute::make_strings(name, split_items(value));
  }
  return std::nullopt;
}

struct Table {
  std::vector<OpSchema> schemas;
  std::map<std::pair<std::string, std::string>, std::vector<size_t>, std::less<>> by_op;
  std::map<std::string, int64_t, std::less<>> newest;
};

const Table& table() {
  static const Table* t = [] {
    auto* tbl = new Table();
    std::vector<std::vector<std::string>> lists;
    for (const char* raw : kSchemaLines) {
      const std::string_view line(raw);
      const std::vector<std::string_view> f = split(line, '|');
      const char kind = f[0].empty() ? '?' : f[0][0];
      if (kind == 'L') {
        lists.push_back(split_items(f.at(1)));
        continue;
      }
      if (kind == 'S') {
        OpSchema s;
        s.domain = unescape(f.at(1));
        s.name = unescape(f.at(2));
        s.since_version = to_int(f.at(3));
        s.deprecated = f.at(4) == "1";
        s.has_function = f.at(5) == "1";
        s.min_inputs = to_int(f.at(6));
        s.max_inputs = to_int(f.at(7));
        s.min_outputs = to_int(f.at(8));
        s.max_outputs = to_int(f.at(9));
        tbl->schemas.push_back(std::move(s));
        continue;
      }
      if (tbl->schemas.empty()) throw Error(ErrorCode::kRuntime, "schema table is malformed");
      OpSchema& s = tbl->schemas.back();
      if (kind == 'I') {
        s.inputs.push_back(parse_param(f));
      } else if (kind == 'O') {
        s.outputs.push_back(parse_param(f));
      } else if (kind == 'A') {
        AttributeSpec a;
        a.name = unescape(f.at(1));
        a.type = static_cast<AttributeType>(to_int(f.at(2)));
        a.required = f.at(3) == "1";
        a.default_value = parse_default(a.name, f.at(4), f.at(5));
        s.attributes.push_back(std::move(a));
      } else if (kind == 'T') {
        s.type_constraints.emplace_back(unescape(f.at(1)), lists.at(static_cast<size_t>(to_int(f.at(2)))));
      }
    }
    for (OpSchema& s : ferry_schemas()) tbl->schemas.push_back(std::move(s));
    std::stable_sort(tbl->schemas.begin(), tbl->schemas.end(), [](const OpSchema& a, const OpSchema& b) {
      return std::tie(a.domain, a.name, a.since_version) < std::tie(b.domain, b.name, b.since_version);
    });
    for (size_t i = 0; i < tbl->schemas.size(); ++i) {
      const OpSchema& s = tbl->schemas[i];
      tbl->by_op[{s.domain, s.name}].push_back(i);
      int64_t& newest = tbl->newest[s.domain];
      newest = std::max<int64_t>(newest, s.since_version);
    }
    return tbl;
  }();
  return *t;
}

std::string_view canonical_domain(std::string_view domain) { return domain == "ai.onnx" ? std::string_view() : domain; }

}  // namespace

std::span<const char* const> schema_text::function_lines() { return kFunctionLines; }

const AttributeSpec* OpSchema::find_attribute(std::string_view attr_name) const {
  for (const AttributeSpec& a : attributes)
    if (a.name == attr_name) return &a;
  return nullptr;
}

const OpSchema* find_schema(std::string_view domain, std::string_view op, int64_t opset) {
  const Table& t = table();
  auto it = t.by_op.find(std::pair<std::string, std::string>(canonical_domain(domain), op));
  if (it == t.by_op.end()) return nullptr;
  const OpSchema* best = nullptr;
  for (size_t i : it->second)
    if (t.schemas[i].since_version <= opset) best = &t.schemas[i];
  return best;
}

const std::vector<OpSchema>& all_schemas() { return table().schemas; }

int64_t newest_opset(std::string_view domain) {
  const Table& t = table();
  auto it = t.newest.find(canonical_domain(domain));
  return it == t.newest.end() ? 0 : it->second;
}

}  // namespace ferry::ir
