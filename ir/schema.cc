#include "ir/schema.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>

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

// The table indexes the generated lines once per process (cheap: the S lines' keys only) and
// parses an op version's I/O/A/T lines the first time it is looked up, so a session pays for
// the ops its model uses, not for all of them. all_schemas() parses everything.
struct Entry {
  std::string domain, name;
  int since_version = 0;
  size_t first_line = 0, end_line = 0;    // the S line and the end of its records
  std::optional<OpSchema> ready;           // ferry schemas: built by ferry_schemas()
  mutable std::once_flag once;
  mutable std::optional<OpSchema> parsed;  // generated ones: filled under `once`
};

struct Table {
  std::deque<Entry> entries;       // deque: entries hold a once_flag and never move
  std::vector<size_t> list_lines;  // line of type list k
  std::map<std::pair<std::string, std::string>, std::vector<size_t>, std::less<>> by_op;  // by since_version
  std::map<std::string, int64_t, std::less<>> newest;
};

OpSchema parse_entry(const Table& tbl, const Entry& e) {
  OpSchema s;
  const std::vector<std::string_view> h = split(kSchemaLines[e.first_line], '|');
  s.domain = e.domain;
  s.name = e.name;
  s.since_version = e.since_version;
  s.deprecated = h.at(4) == "1";
  s.has_function = h.at(5) == "1";
  s.min_inputs = to_int(h.at(6));
  s.max_inputs = to_int(h.at(7));
  s.min_outputs = to_int(h.at(8));
  s.max_outputs = to_int(h.at(9));
  for (size_t l = e.first_line + 1; l < e.end_line; ++l) {
    const std::vector<std::string_view> f = split(kSchemaLines[l], '|');
    const char kind = f[0].empty() ? '?' : f[0][0];
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
      const std::string_view list = kSchemaLines[tbl.list_lines.at(static_cast<size_t>(to_int(f.at(2))))];
      s.type_constraints.emplace_back(unescape(f.at(1)), split_items(list.substr(list.find('|') + 1)));
    }
  }
  return s;
}

const OpSchema& schema_of(const Table& tbl, const Entry& e) {
  if (e.ready) return *e.ready;
  std::call_once(e.once, [&] { e.parsed = parse_entry(tbl, e); });
  return *e.parsed;
}

const Table& table() {
  static const Table* t = [] {
    auto* tbl = new Table();
    std::vector<size_t> order;
    const size_t n = std::size(kSchemaLines);
    for (size_t l = 0; l < n; ++l) {
      const std::string_view line(kSchemaLines[l]);
      if (line.starts_with("L|")) {
        tbl->list_lines.push_back(l);
      } else if (line.starts_with("S|")) {
        if (!tbl->entries.empty() && tbl->entries.back().end_line == 0) tbl->entries.back().end_line = l;
        // S|domain|name|since|...: only the key is read here.
        const size_t d = 2, name_at = line.find('|', d) + 1, v = line.find('|', name_at) + 1,
                     end = line.find('|', v);
        if (name_at == 0 || v == 0 || end == std::string_view::npos)
          throw Error(ErrorCode::kRuntime, "schema table is malformed");
        Entry& e = tbl->entries.emplace_back();
        e.domain = unescape(line.substr(d, name_at - 1 - d));
        e.name = unescape(line.substr(name_at, v - 1 - name_at));
        std::from_chars(line.data() + v, line.data() + end, e.since_version);
        e.first_line = l;
      } else if (tbl->entries.empty()) {
        throw Error(ErrorCode::kRuntime, "schema table is malformed");
      }
    }
    if (!tbl->entries.empty() && tbl->entries.back().end_line == 0) tbl->entries.back().end_line = n;
    for (OpSchema& s : ferry_schemas()) {
      Entry& e = tbl->entries.emplace_back();
      e.domain = s.domain;
      e.name = s.name;
      e.since_version = s.since_version;
      e.ready = std::move(s);
    }
    for (size_t i = 0; i < tbl->entries.size(); ++i) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const Entry& x = tbl->entries[a];
      const Entry& y = tbl->entries[b];
      return std::tie(x.domain, x.name, x.since_version) < std::tie(y.domain, y.name, y.since_version);
    });
    for (size_t i : order) {
      const Entry& e = tbl->entries[i];
      tbl->by_op[{e.domain, e.name}].push_back(i);
      int64_t& newest = tbl->newest[e.domain];
      newest = std::max<int64_t>(newest, e.since_version);
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
  const Entry* best = nullptr;
  for (size_t i : it->second)
    if (t.entries[i].since_version <= opset) best = &t.entries[i];
  return best ? &schema_of(t, *best) : nullptr;
}

const std::vector<OpSchema>& all_schemas() {
  static const std::vector<OpSchema>* all = [] {
    const Table& t = table();
    auto* v = new std::vector<OpSchema>();
    for (const auto& [key, ids] : t.by_op)
      for (size_t i : ids) v->push_back(schema_of(t, t.entries[i]));
    return v;
  }();
  return *all;
}

int64_t newest_opset(std::string_view domain) {
  const Table& t = table();
  auto it = t.newest.find(canonical_domain(domain));
  return it == t.newest.end() ? 0 : it->second;
}

}  // namespace ferry::ir
