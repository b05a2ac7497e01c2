"""`python -m ferry.model_zoo NAME SIZE EXPORTER OPSET PATH`: export one recipe to PATH in
this fresh interpreter (model_zoo.get uses it when an export in a busy process lost a dynamic
axis). Users want `ferry zoo build` instead."""

import pathlib
import sys

from ferry import model_zoo

if __name__ == "__main__":
    name, size, exporter, opset, path = sys.argv[1:6]
    try:
        module, _ = model_zoo.build_for_export(name, size, exporter, int(opset))
        model_zoo._export_checked(model_zoo.recipe(name), module, size, exporter, int(opset), pathlib.Path(path))
    except model_zoo.ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
