// Inference for the recurrent ops RNN, GRU and LSTM: Y is [seq, dirs, batch, hidden]
// ([batch, seq, dirs, hidden] with layout 1, opset 14+); Y_h and LSTM's Y_c are
// [dirs, batch, hidden] ([batch, dirs, hidden] with layout 1).
#include "ir/infer/common.h"

namespace ferry::ir::infer {

namespace {

void recurrent(InferenceContext& ctx) {
  const Node& n = ctx.node();
  const DataType dt = input_dtype(ctx, 0);
  const std::string direction = n.get_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    ctx.fail("attribute 'direction' is \"" + direction + "\"; valid: forward, reverse, bidirectional");
  const Dim dirs(direction == "bidirectional" ? 2 : 1);
  const bool batch_major = ctx.opset() >= 14 && n.get_int("layout", 0) != 0;
  const Shape* x = ranked_shape(ctx, 0);
  if (x && x->rank() != 3) ctx.fail("input 'X' has shape " + x->to_string() + ", expected rank 3");
  const Dim seq = x ? x->dims[batch_major ? 1 : 0] : ctx.fresh_dim();
  const Dim batch = x ? x->dims[batch_major ? 0 : 1] : ctx.fresh_dim();
  Dim hidden;
  if (const int64_t h = n.get_int("hidden_size", 0); h > 0) {
    hidden = Dim(h);
  } else if (const Shape* r = ranked_shape(ctx, 2); r && r->rank() == 3) {
    hidden = r->dims[2];
  } else {
    hidden = ctx.fresh_dim();
  }
  if (ctx.output_count() > 0 && ctx.node().output(0))
    ctx.set_output_type(0, Type::tensor(dt, Shape(batch_major ? std::vector<Dim>{batch, seq, dirs, hidden}
                                                              : std::vector<Dim>{seq, dirs, batch, hidden})));
  const Shape state(batch_major ? std::vector<Dim>{batch, dirs, hidden} : std::vector<Dim>{dirs, batch, hidden});
  for (size_t i = 1; i < ctx.output_count(); ++i)
    if (ctx.node().output(i)) ctx.set_output_type(i, Type::tensor(dt, state));
}

}  // namespace

void register_rnn() {
  register_inference("", "RNN", 7, recurrent);
  register_inference("", "GRU", 7, recurrent);
  register_inference("", "LSTM", 7, recurrent);
}

}  // namespace ferry::ir::infer
