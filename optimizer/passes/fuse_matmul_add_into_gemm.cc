// fuse_matmul_add_into_gemm (basic): a 2-D MatMul followed by an Add of a bias that Gemm can
// broadcast becomes one Gemm (onnxruntime's MatMulAddFusion at ORT_ENABLE_BASIC does the same).
//
//   A[M,K]  B[K,N]                  A   B   C
//        \  /                        \  |  /
//       MatMul    C        ==>         Gemm         (alpha = beta = 1, no transposes)
//          |     /                      |
//          Add                          y
//          |
//          y
//
// Contract:
// - Fires when A and B have rank 2 (known from inference), A, B, C and y all have the same dtype,
//   float or double (Gemm's CPU kernel types; ONNX Gemm-7+ also allows float16, which this pass
//   leaves as MatMul + Add so that the model keeps running here), the model's ai.onnx opset is at
//   least 7 (Gemm-6 needed the broadcast attribute), the MatMul output is read by the Add only and
//   is not a graph output, and C (either Add operand) has shape [N], [1,N], [M,1] or [M,N] (with M,
//   N the MatMul output's dims: symbols must be equal, unknown dims never match), so that Gemm's
//   unidirectional broadcast of C gives exactly the Add's result. C need not be constant.
// - Not done: A of rank > 2 with a constant 2-D B (onnxruntime leaves these too). The rewrite would
//   be Reshape(A, [-1,K]) -> Gemm -> Reshape back, which adds two nodes and a Shape computation for
//   symbolic leading dims in exchange for one: MatMul's kernel already treats the leading dims as
//   rows of one matrix product, so the only gain is the fused bias add, which the extended level's
//   fusions handle without leaving plain ONNX.
#include <initializer_list>
#include <optional>

#include "optimizer/passes.h"
#include "optimizer/patch.h"

namespace ferry::optimizer::passes {

namespace {

bool is_dim_one(const ir::Dim& d) { return d.is_constant() && d.value() == 1; }

/// Whether Gemm's unidirectional broadcast of a C of `c` to [m, n] equals Add's broadcast.
bool gemm_bias_shape(const ir::Shape& c, const ir::Dim& m, const ir::Dim& n) {
  if (!c.has_rank) return false;
  if (c.rank() == 1) return c.dims[0] == n;
  if (c.rank() != 2) return false;
  if (is_dim_one(c.dims[0])) return c.dims[1] == n;
  return c.dims[0] == m && (is_dim_one(c.dims[1]) || c.dims[1] == n);
}

std::optional<Patch> fuse_matmul_add(ir::Node& add, const PassContext& ctx) {
  if (add.op_type() != "Add" || !add.domain().empty() || add.inputs().size() != 2) return std::nullopt;
  if (ctx.opset() < 7) return std::nullopt;
  ir::Node* matmul = nullptr;
  ir::Value* bias = nullptr;
  for (size_t side = 0; side < 2 && !matmul; ++side) {
    matmul = producer_of(add.input(side), "MatMul");
    bias = add.input(1 - side);
  }
  if (!matmul || only_consumer(matmul->output(0)) != &add) return std::nullopt;
  const ir::Value* a = matmul->input(0);
  const ir::Value* b = matmul->input(1);
  const ir::Value* y = matmul->output(0);
  if (!a || !b || !bias) return std::nullopt;
  const DataType dtype = y->dtype();
  if (dtype != DataType::kFloat && dtype != DataType::kDouble) return std::nullopt;
  for (const ir::Value* v : std::initializer_list<const ir::Value*>{a, b, bias, add.output(0)})
    if (!v->type().is_tensor() || v->dtype() != dtype) return std::nullopt;
  if (!a->shape().has_rank || a->shape().rank() != 2 || !b->shape().has_rank || b->shape().rank() != 2)
    return std::nullopt;
  if (!y->shape().has_rank || y->shape().rank() != 2) return std::nullopt;
  if (!gemm_bias_shape(bias->shape(), y->shape().dims[0], y->shape().dims[1])) return std::nullopt;

  Patch patch(add);
  Patch::Ref out = patch.add_node("Gemm", {patch.use(matmul->input(0)), patch.use(matmul->input(1)), patch.use(bias)},
                                  {}, 1, "", matmul->name())[0];
  patch.replace(add.output(0), out);
  return patch;
}

}  // namespace

bool fuse_matmul_add_into_gemm(ir::Graph& graph, const PassContext& ctx) {
  return apply_rule(graph, ctx, fuse_matmul_add);
}

}  // namespace ferry::optimizer::passes
