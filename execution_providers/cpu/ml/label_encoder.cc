// ai.onnx.ml LabelEncoder: maps each input element through a key -> value table, with a default
// for keys not in the table.
//   opset 1: classes_strings; string input -> int64 index (default_int64), int64 input -> the
//            class string (default_string).
//   opset 2: keys_{floats,int64s,strings} -> values_{floats,int64s,strings}, default_{float,int64,string}.
//   opset 4: also keys_tensor / values_tensor / default_tensor (int16, int32, int64, float, double,
//            string).
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/ml/ml.h"

namespace ferry::ep::cpu {
namespace {

/// The elements of an int16/int32/int64 tensor as int64s.
std::vector<int64_t> read_ints_any(const Tensor& t) {
  std::vector<int64_t> out(static_cast<size_t>(t.element_count()));
  visit_dtype(Types<int16_t, int32_t, int64_t>{}, t.dtype(), "keys", [&](auto tag) {
    using T = typename decltype(tag)::type;
    for (size_t i = 0; i < out.size(); ++i) out[i] = t.data<T>()[i];
  });
  return out;
}

enum class KeyKind { kString, kInt, kFloat };

KeyKind kind_of(DataType dt) {
  if (dt == DataType::kString) return KeyKind::kString;
  if (dt == DataType::kFloat || dt == DataType::kDouble) return KeyKind::kFloat;
  return KeyKind::kInt;
}

const char* kind_name(KeyKind k) {
  return k == KeyKind::kString ? "string" : k == KeyKind::kInt ? "integer" : "floating-point";
}

/// One key -> value-index table plus the values and the default, all parsed at session start.
struct Table {
  KeyKind key_kind = KeyKind::kString;
  std::unordered_map<std::string, int64_t> strings;
  std::unordered_map<int64_t, int64_t> ints;
  std::unordered_map<double, int64_t> floats;  // -0.0 and 0.0 are one key
  int64_t nan_index = -1;                      // the value index of a NaN key
  Tensor values;                               // 1-D
  Tensor fallback;                             // one element, values' type

  void add_keys(const Tensor& keys) {
    key_kind = kind_of(keys.dtype());
    const std::vector<int64_t> int_keys =
        key_kind == KeyKind::kInt ? read_ints_any(keys) : std::vector<int64_t>{};
    for (int64_t i = 0; i < keys.element_count(); ++i) {
      if (key_kind == KeyKind::kString) {
        strings.emplace(keys.data<std::string>()[i], i);
      } else if (key_kind == KeyKind::kInt) {
        ints.emplace(int_keys[static_cast<size_t>(i)], i);
      } else {
        const double v = keys.dtype() == DataType::kFloat ? keys.data<float>()[i] : keys.data<double>()[i];
        if (std::isnan(v)) {
          if (nan_index < 0) nan_index = i;
        } else {
          floats.emplace(v, i);
        }
      }
    }
  }

  int64_t find(const std::string& k) const {
    auto it = strings.find(k);
    return it == strings.end() ? -1 : it->second;
  }
  int64_t find(int64_t k) const {
    auto it = ints.find(k);
    return it == ints.end() ? -1 : it->second;
  }
  int64_t find(double k) const {
    if (std::isnan(k)) return nan_index;
    auto it = floats.find(k);
    return it == floats.end() ? -1 : it->second;
  }
};

Tensor ints_tensor(const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>(DataType::kInt64, {static_cast<int64_t>(v.size())}, v);
}
Tensor floats_tensor(const std::vector<float>& v) {
  return Tensor::from_vector<float>(DataType::kFloat, {static_cast<int64_t>(v.size())}, v);
}
Tensor strings_tensor(const std::vector<std::string>& v) {
  return Tensor::from_vector<std::string>(DataType::kString, {static_cast<int64_t>(v.size())}, v);
}

/// The default for values of type dt when default_tensor is absent (the spec's defaults).
Tensor default_for(DataType dt) {
  if (dt == DataType::kString) return strings_tensor({"_Unused"});
  Tensor t = Tensor::zeros(dt, {1});
  visit_dtype(Types<float, double, int16_t, int32_t, int64_t>{}, dt, "attribute 'values_tensor'", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_floating_point_v<T>) t.data<T>()[0] = T(-0.0);
    else t.data<T>()[0] = T(-1);
  });
  return t;
}

const std::vector<DataType> kLabelTypes = {DataType::kString, DataType::kInt64, DataType::kFloat,
                                           DataType::kInt32,  DataType::kInt16, DataType::kDouble};

class LabelEncoder final : public Kernel {
 public:
  explicit LabelEncoder(const KernelInfo& info) {
    const ir::Node& n = info.node();
    if (info.opset() < 2) {
      // Both directions of classes_strings; the input's element type picks one at run time.
      const std::vector<std::string> classes = n.get_strings("classes_strings");
      std::vector<int64_t> positions(classes.size());
      for (size_t i = 0; i < classes.size(); ++i) positions[i] = static_cast<int64_t>(i);
      by_string_.add_keys(strings_tensor(classes));
      by_string_.values = ints_tensor(positions);
      by_string_.fallback = ints_tensor({n.get_int("default_int64", -1)});
      by_int_.add_keys(ints_tensor(positions));
      by_int_.values = strings_tensor(classes);
      by_int_.fallback = strings_tensor({n.get_string("default_string", "_Unused")});
      return;
    }
    Tensor keys, values;
    int key_sources = 0, value_sources = 0;
    if (const auto* a = n.find_attribute("keys_strings")) keys = strings_tensor(a->strings), ++key_sources;
    if (const auto* a = n.find_attribute("keys_int64s")) keys = ints_tensor(a->ints), ++key_sources;
    if (const auto* a = n.find_attribute("keys_floats")) keys = floats_tensor(a->floats), ++key_sources;
    if (const auto* a = n.find_attribute("keys_tensor")) keys = a->t, ++key_sources;
    if (const auto* a = n.find_attribute("values_strings")) values = strings_tensor(a->strings), ++value_sources;
    if (const auto* a = n.find_attribute("values_int64s")) values = ints_tensor(a->ints), ++value_sources;
    if (const auto* a = n.find_attribute("values_floats")) values = floats_tensor(a->floats), ++value_sources;
    const ir::Attribute* values_tensor = n.find_attribute("values_tensor");
    if (values_tensor) values = values_tensor->t, ++value_sources;
    if (key_sources != 1 || value_sources != 1)
      fail_model(info, "exactly one keys_* and one values_* attribute must be given, got " +
                           std::to_string(key_sources) + " and " + std::to_string(value_sources));
    if (keys.element_count() != values.element_count())
      fail_model(info, "keys and values must have the same length, got " + std::to_string(keys.element_count()) +
                           " keys and " + std::to_string(values.element_count()) + " values");
    for (DataType dt : {keys.dtype(), values.dtype()})
      if (std::find(kLabelTypes.begin(), kLabelTypes.end(), dt) == kLabelTypes.end())
        fail_model(info, "keys and values of element type '" + std::string(dtype_name(dt)) +
                             "' are not supported (string, int16, int32, int64, float, double)");
    table_.add_keys(keys);
    table_.values = values.reshaped({values.element_count()});
    if (values_tensor) {
      const ir::Attribute* d = n.find_attribute("default_tensor");
      table_.fallback = d ? d->t.reshaped({d->t.element_count()}) : default_for(values.dtype());
      if (table_.fallback.element_count() != 1 || table_.fallback.dtype() != values.dtype())
        fail_model(info, "attribute 'default_tensor' must hold one element of the values' type '" +
                             std::string(dtype_name(values.dtype())) + "', got " + table_.fallback.describe());
    } else if (values.dtype() == DataType::kString) {
      table_.fallback = strings_tensor({n.get_string("default_string", "_Unused")});
    } else if (values.dtype() == DataType::kInt64) {
      table_.fallback = ints_tensor({n.get_int("default_int64", -1)});
    } else {
      table_.fallback = floats_tensor({n.get_float("default_float", -0.0f)});
    }
  }

  void compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.required_input(0);
    const Table& t = !by_string_.values.defined() ? table_
                     : x.dtype() == DataType::kString ? by_string_ : by_int_;
    if (kind_of(x.dtype()) != t.key_kind)
      fail(ctx, ErrorCode::kInvalidArgument,
           "input 'X' " + x.describe() + " does not match the " + kind_name(t.key_kind) + " keys");
    std::vector<int64_t> found(static_cast<size_t>(x.element_count()));
    visit_dtype(Types<std::string, int64_t, int32_t, int16_t, float, double>{}, x.dtype(), "input 'X'",
                [&](auto tag) {
                  using T = typename decltype(tag)::type;
                  const T* in = x.data<T>();
                  for (size_t i = 0; i < found.size(); ++i) {
                    if constexpr (std::is_same_v<T, std::string>) found[i] = t.find(in[i]);
                    else if constexpr (std::is_integral_v<T>) found[i] = t.find(static_cast<int64_t>(in[i]));
                    else found[i] = t.find(static_cast<double>(in[i]));
                  }
                });
    Tensor& y = ctx.allocate_output(0, t.values.dtype(), x.shape());
    visit_by_size(t.values.dtype(), "values", [&](auto tag) {
      using U = typename decltype(tag)::type;
      const U* vals = t.values.template data<U>();
      const U& dflt = t.fallback.template data<U>()[0];
      U* out = y.template data<U>();
      for (size_t i = 0; i < found.size(); ++i) out[i] = found[i] >= 0 ? vals[found[i]] : dflt;
    });
  }

 private:
  Table table_;                 // opset 2+
  Table by_string_, by_int_;    // opset 1
};

}  // namespace

void register_label_encoder_kernels(KernelRegistry& r) {
  r.add("LabelEncoder", {1, 2, 4}, make_kernel<LabelEncoder>, kLabelTypes, kMlDomain);
}

}  // namespace ferry::ep::cpu
