#include "runtime/kernel_context.h"

#include <list>

namespace ferry::runtime {

const Tensor* RunKernelContext::input(size_t i) const {
  if (i >= node_.inputs.size() || node_.inputs[i] == kNoValue) return nullptr;
  const Tensor& t = state_.values[node_.inputs[i]];
  return t.defined() ? &t : nullptr;
}

Tensor& RunKernelContext::slot(size_t i) {
  if (i >= node_.outputs.size())
    throw Error(ErrorCode::kRuntime, "kernel wrote output " + std::to_string(i) + " but the node has " +
                                         std::to_string(node_.outputs.size()) + " outputs");
  if (node_.outputs[i] == kNoValue) {
    scratch_.emplace_back();
    return scratch_.back();
  }
  return state_.values[node_.outputs[i]];
}

Tensor& RunKernelContext::allocate_output(size_t i, DataType dtype, std::vector<int64_t> shape) {
  Tensor& out = slot(i);
  if (i < node_.outputs.size() && node_.outputs[i] != kNoValue) {
    const ValuePlan& vp = state_.plan->values[node_.outputs[i]];
    const ExecValue& ev = state_.graph->values[node_.outputs[i]];
    if (vp.placement == Placement::kArena && state_.arena_base && ev.value->dtype() == dtype &&
        vp.shape == shape) {
      out = Tensor::wrap(dtype, std::move(shape), state_.arena_base + vp.offset, state_.arena);
      return out;
    }
    if ((vp.placement == Placement::kDynamic || vp.placement == Placement::kOutput) && state_.buffers != nullptr) {
      out = state_.buffers->dynamic_tensor(dtype, std::move(shape));
      return out;
    }
  }
  out = Tensor::empty(dtype, std::move(shape));
  return out;
}

Tensor& RunKernelContext::alias_output(size_t i, const Tensor& source, std::vector<int64_t> shape) {
  int out_id = i < node_.outputs.size() ? node_.outputs[i] : kNoValue;
  int in0 = node_.inputs.empty() ? kNoValue : node_.inputs[0];
  bool is_input0 = in0 != kNoValue && i == 0 && state_.values[in0].defined() &&
                   source.raw_data() == state_.values[in0].raw_data() &&
                   source.dtype() == state_.values[in0].dtype();
  if (out_id != kNoValue && is_input0 && source.element_count() == shape_element_count(shape)) {
    Placement out_p = state_.plan->values[out_id].placement;
    Placement in_p = state_.plan->values[in0].placement;
    bool source_owned_elsewhere = (in_p == Placement::kDynamic || in_p == Placement::kOutput ||
                                   (in_p == Placement::kView && !state_.in_arena(source.raw_data()))) &&
                                  !source.is_borrowed();
    if (out_p == Placement::kView || (out_p == Placement::kOutput && source_owned_elsewhere &&
                                      in_p != Placement::kOutput)) {
      Tensor& out = slot(i);
      out = source.reshaped(std::move(shape));
      return out;
    }
  }
  Tensor& out = allocate_output(i, source.dtype(), std::move(shape));
  copy_tensor_data(source, out);
  return out;
}

void RunKernelContext::set_output(size_t i, Tensor value) { slot(i) = std::move(value); }

Value RunKernelContext::input_value(size_t i) const {
  if (i >= node_.inputs.size() || node_.inputs[i] == kNoValue) return Value();
  const Tensor& t = state_.values[node_.inputs[i]];
  return t.defined() ? Value(t) : state_.others[node_.inputs[i]];
}

Value* RunKernelContext::other_slot(size_t i) {
  if (i >= node_.outputs.size())
    throw Error(ErrorCode::kRuntime, "kernel wrote output " + std::to_string(i) + " but the node has " +
                                         std::to_string(node_.outputs.size()) + " outputs");
  return node_.outputs[i] == kNoValue ? nullptr : &state_.others[node_.outputs[i]];
}

void RunKernelContext::set_output_value(size_t i, Value value) {
  if (value.is_tensor()) {
    set_output(i, value.tensor());
    return;
  }
  if (Value* v = other_slot(i)) *v = detach_value(value, state_);
}

Value RunKernelContext::outer_value(const ir::Value& v) const {
  int id = state_.graph->id_of(&v);
  if (id == kNoValue)
    throw Error(ErrorCode::kRuntime, "outer-scope value '" + v.name() + "' is not known to this graph");
  const Tensor& t = state_.values[id];
  Value out = t.defined() ? Value(t) : state_.others[id];
  if (!out.defined())
    throw Error(ErrorCode::kRuntime, "outer-scope value '" + v.name() + "' has not been computed");
  return out;
}

}  // namespace ferry::runtime
