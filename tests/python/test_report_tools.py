"""The helpers tools/optimizer_report.py shares with tools/zoo_report.py: model selection,
marker writing, and node counting with subgraphs (the tools themselves run the zoo: slow)."""

import argparse
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import optimizer_report  # noqa: E402
import zoo_report  # noqa: E402


def _args(*argv):
    p = argparse.ArgumentParser()
    zoo_report.add_selection_args(p)
    return p.parse_args(list(argv))


def test_selection_filters_by_name_exporter_and_opset():
    from ferry import model_zoo

    everything = list(zoo_report.selected(_args()))
    assert len(everything) == len(model_zoo.list()) * sum(len(v) for v in model_zoo.OPSETS.values())
    picked = list(zoo_report.selected(_args("-k", "gpt2", "--exporter", "torchscript", "--opset", "17")))
    assert picked == [(n, "torchscript", 17) for n in model_zoo.list() if "gpt2" in n]


def test_write_between_markers_replaces_only_the_block(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("intro\n<!-- t:begin -->\nold\n<!-- t:end -->\noutro\n")
    zoo_report.write_between_markers(doc, "<!-- t:begin -->", "<!-- t:end -->", ["a", "b"])
    assert doc.read_text() == "intro\n<!-- t:begin -->\na\nb\n<!-- t:end -->\noutro\n"
    fresh = tmp_path / "new.md"
    zoo_report.write_between_markers(fresh, "<!-- t:begin -->", "<!-- t:end -->", ["x"])
    assert fresh.read_text() == "\n<!-- t:begin -->\nx\n<!-- t:end -->\n"


def test_count_nodes_includes_subgraphs(tmp_path):
    def branch(name, op):
        return helper.make_graph([helper.make_node(op, ["x"], [f"{name}_y"]),
                                  helper.make_node("Identity", [f"{name}_y"], [f"{name}_out"])],
                                 name, [], [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [2])])
    graph = helper.make_graph(
        [helper.make_node("If", ["c"], ["y"], then_branch=branch("then", "Relu"), else_branch=branch("else", "Neg")),
         helper.make_node("Identity", ["y"], ["z"])],
        "g", [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
              helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2])])
    path = tmp_path / "if.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert optimizer_report.count_nodes(path) == 2 + 2 + 2
