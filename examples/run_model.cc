// Runs an ONNX model with Ferry's public C++ API:
//
//   run_model model.onnx
//
// Every input gets deterministic values (symbolic dims are set to 1); each output's shape and
// first values are printed. Exit code 1 with the error message when anything fails.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "ferry/ferry.h"

namespace {

std::vector<int64_t> concrete_shape(const ferry::ValueInfo& info) {
  std::vector<int64_t> shape;
  for (const ferry::DimInfo& d : info.shape) shape.push_back(d.is_fixed() ? d.value : 1);
  return shape;
}

// Values i % 7 - 3, scaled for floats: small, varied, identical on every run.
ferry::Tensor deterministic_input(const ferry::ValueInfo& info) {
  ferry::Tensor t = ferry::Tensor::zeros(info.dtype, concrete_shape(info));
  int64_t n = t.element_count();
  for (int64_t i = 0; i < n; ++i) {
    double v = static_cast<double>(i % 7 - 3);
    switch (info.dtype) {
      case ferry::DataType::kFloat: t.data<float>()[i] = static_cast<float>(v * 0.25); break;
      case ferry::DataType::kDouble: t.data<double>()[i] = v * 0.25; break;
      case ferry::DataType::kInt32: t.data<int32_t>()[i] = static_cast<int32_t>(i % 7); break;
      case ferry::DataType::kInt64: t.data<int64_t>()[i] = i % 7; break;
      case ferry::DataType::kUInt8: t.data<uint8_t>()[i] = static_cast<uint8_t>(i % 7); break;
      case ferry::DataType::kInt8: t.data<int8_t>()[i] = static_cast<int8_t>(v); break;
      case ferry::DataType::kBool: t.data<bool>()[i] = (i % 2) == 1; break;
      case ferry::DataType::kString: t.data<std::string>()[i] = "ferry"; break;
      default: break;  // other types stay zero
    }
  }
  return t;
}

std::string first_values(const ferry::Tensor& t, int64_t count) {
  std::string s;
  int64_t n = std::min(count, t.element_count());
  for (int64_t i = 0; i < n; ++i) {
    if (i) s += ", ";
    char buf[64] = "?";
    switch (t.dtype()) {
      case ferry::DataType::kFloat: std::snprintf(buf, sizeof buf, "%g", t.data<float>()[i]); break;
      case ferry::DataType::kDouble: std::snprintf(buf, sizeof buf, "%g", t.data<double>()[i]); break;
      case ferry::DataType::kInt32: std::snprintf(buf, sizeof buf, "%d", t.data<int32_t>()[i]); break;
      case ferry::DataType::kInt64:
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(t.data<int64_t>()[i]));
        break;
      case ferry::DataType::kUInt8: std::snprintf(buf, sizeof buf, "%u", t.data<uint8_t>()[i]); break;
      case ferry::DataType::kInt8: std::snprintf(buf, sizeof buf, "%d", t.data<int8_t>()[i]); break;
      case ferry::DataType::kBool: std::snprintf(buf, sizeof buf, "%s", t.data<bool>()[i] ? "true" : "false"); break;
      case ferry::DataType::kString: s += "\"" + t.data<std::string>()[i] + "\""; continue;
      default: break;
    }
    s += buf;
  }
  if (t.element_count() > n) s += ", ...";
  return "[" + s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " MODEL.onnx\n";
    return 2;
  }
  try {
    ferry::Session session(argv[1]);
    std::vector<ferry::NamedTensor> feeds;
    for (const ferry::ValueInfo& in : session.inputs()) {
      feeds.push_back({in.name, deterministic_input(in)});
      std::cout << "input  " << in.name << ": " << feeds.back().tensor.describe() << "\n";
    }
    std::vector<ferry::Tensor> outputs = session.run(feeds);
    for (size_t i = 0; i < outputs.size(); ++i)
      std::cout << "output " << session.outputs()[i].name << ": " << outputs[i].describe() << " "
                << first_values(outputs[i], 8) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "run_model: error: " << e.what() << "\n";
    return 1;
  }
}
