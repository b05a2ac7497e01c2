// ir::Graph's O(1) removal (values leave null slots that are compacted later), the copy-free
// node iteration (node_range, next_node / prev_node) and their interplay with subgraphs and clone.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace ferry::ir {
namespace {

std::vector<std::string> value_names(const Graph& g) {
  std::vector<std::string> out;
  for (const Value* v : g.values()) out.push_back(v->name());
  return out;
}

std::vector<std::string> node_names(const Graph& g) {
  std::vector<std::string> out;
  for (const Node* n : g.node_range()) out.push_back(n->name());
  return out;
}

// x -> Relu r0 -> Relu r1 -> ... -> Relu r{n-1} -> graph output.
Graph& chain(Graph& g, int n) {
  Value* v = g.add_value("x");
  g.add_input(v);
  for (int i = 0; i < n; ++i)
    v = g.add_node("Relu", {v}, {"v" + std::to_string(i)}, "", "r" + std::to_string(i))->output(0);
  g.add_output(v);
  return g;
}

TEST(IrGraphRemoval, RemovingInTheMiddleWhileIteratingKeepsOrderAndLookups) {
  Graph g("main");
  chain(g, 200);
  // Bypass and remove every odd node while iterating: the current node may go.
  int visited = 0;
  for (Node* n : g.node_range()) {
    ++visited;
    const int i = std::stoi(n->name().substr(1));
    if (i % 2 == 0) continue;
    g.replace_all_uses(n->output(0), n->input(0));
    g.remove_node(n);
  }
  EXPECT_EQ(visited, 200);
  EXPECT_EQ(g.node_count(), 100u);
  EXPECT_EQ(g.value_count(), 101u);  // x and the even nodes' outputs
  std::vector<std::string> expected_nodes, expected_values = {"x"};
  for (int i = 0; i < 200; i += 2) {
    expected_nodes.push_back("r" + std::to_string(i));
    expected_values.push_back("v" + std::to_string(i));
  }
  EXPECT_EQ(node_names(g), expected_nodes);
  EXPECT_EQ(value_names(g), expected_values);  // creation order survives the compaction
  for (int i = 0; i < 200; ++i) {
    const Value* v = g.find_value("v" + std::to_string(i));
    EXPECT_EQ(v != nullptr, i % 2 == 0) << i;
  }
  // Use lists stayed right: each kept node reads the previous kept one.
  for (Node* n : g.node_range()) {
    ASSERT_EQ(n->input(0)->uses().size(), 1u);
    EXPECT_EQ(n->input(0)->uses()[0].node, n);
  }
  // Values added after removals (and a compaction) are found and removable, and names free up.
  Value* extra = g.add_value("v1");
  EXPECT_EQ(g.find_value("v1"), extra);
  EXPECT_EQ(value_names(g).back(), "v1");
  g.remove_value(extra);
  EXPECT_EQ(g.find_value("v1"), nullptr);
  EXPECT_EQ(g.value_count(), 101u);
  EXPECT_EQ(g.values().size(), 101u);
}

TEST(IrGraphRemoval, RemoveValueAndInitializers) {
  Graph g("main");
  std::vector<Value*> inits;
  for (int i = 0; i < 150; ++i) inits.push_back(g.add_initializer("c" + std::to_string(i), Tensor::from_vector<float>(DataType::kFloat, {}, {static_cast<float>(i)})));
  for (int i = 0; i < 150; i += 3) g.remove_value(inits[static_cast<size_t>(i)]);
  const std::vector<Value*> left = g.initializers();
  ASSERT_EQ(left.size(), 100u);
  size_t k = 0;
  for (int i = 0; i < 150; ++i) {
    if (i % 3 == 0) continue;
    EXPECT_EQ(left[k]->name(), "c" + std::to_string(i));
    EXPECT_EQ(*left[k]->initializer().data<float>(), static_cast<float>(i));
    ++k;
  }
  int counted = 0;
  g.for_each_value([&](Value*) { ++counted; });
  EXPECT_EQ(counted, 100);
}

TEST(IrGraphRemoval, NextAndPrevNodeFollowInsertionsAndRemovals) {
  Graph g("main");
  chain(g, 3);
  Node* r0 = g.nodes()[0];
  Node* r1 = g.nodes()[1];
  Node* r2 = g.nodes()[2];
  EXPECT_EQ(g.prev_node(*r0), nullptr);
  EXPECT_EQ(g.next_node(*r0), r1);
  EXPECT_EQ(g.prev_node(*r2), r1);
  EXPECT_EQ(g.next_node(*r2), nullptr);
  Node* mid = g.insert_node_before(r1, "Neg", {r0->output(0)}, {"n"}, "", "mid");
  EXPECT_EQ(g.next_node(*r0), mid);
  EXPECT_EQ(g.prev_node(*r1), mid);
  g.remove_node(mid);
  EXPECT_EQ(g.next_node(*r0), r1);
  EXPECT_EQ(g.prev_node(*r1), r0);
}

TEST(IrGraphRemoval, SubgraphValuesAndCloneAfterRemovals) {
  Graph g("main");
  Value* x = g.add_value("x");
  Value* cond = g.add_value("cond");
  g.add_input(x);
  g.add_input(cond);
  // A body reading the outer x; a few of its values are removed before cloning.
  auto body = std::make_shared<Graph>("then", &g);
  std::vector<Node*> dead;
  for (int i = 0; i < 100; ++i) dead.push_back(body->add_node("Neg", {x}, {"d" + std::to_string(i)}));
  Node* keep = body->add_node("Relu", {x}, {"t"});
  body->add_output(keep->output(0));
  for (Node* n : dead) body->remove_node(n);
  EXPECT_EQ(body->value_count(), 1u);
  EXPECT_EQ(x->uses().size(), 1u);  // only the kept Relu of the body
  Node* if_node = g.add_node("If", {cond}, {"y"});
  if_node->set_attribute(Attribute::make_graph("then_branch", body));
  g.add_output(if_node->output(0));

  std::unique_ptr<Graph> copy = g.clone();
  ASSERT_EQ(copy->direct_subgraphs().size(), 1u);
  Graph* cbody = copy->direct_subgraphs()[0];
  EXPECT_EQ(value_names(*cbody), std::vector<std::string>{"t"});
  Value* cx = copy->find_value("x");
  ASSERT_NE(cx, nullptr);
  ASSERT_EQ(cbody->nodes().size(), 1u);
  EXPECT_EQ(cbody->nodes()[0]->input(0), cx);  // remapped to the copy's outer x
  EXPECT_EQ(cx->uses().size(), 1u);
  EXPECT_EQ(cbody->outputs()[0], cbody->find_value("t"));
  // The copy is independent: removing there leaves the original intact.
  cbody->set_outputs({});
  cbody->remove_node(cbody->nodes()[0]);
  EXPECT_EQ(cx->uses().size(), 0u);
  EXPECT_EQ(x->uses().size(), 1u);
  EXPECT_EQ(body->value_count(), 1u);
}

}  // namespace
}  // namespace ferry::ir
