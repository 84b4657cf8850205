"""Run ../shared/bench/export_zoo.py for the models it cannot export as it is (torchvision's ViTs).

Two changes, both outside the maths being checked:
- In eval mode under no_grad, torch 1.13's nn.MultiheadAttention calls aten::_native_multi_head_attention,
  which torch.onnx cannot export ("UnsupportedOperatorError"). Reporting autocast as enabled makes
  MultiheadAttention take its ordinary (exportable, same maths) path; nothing else on the CPU export path
  reads it.
- torchvision initialises the ViT classification head to zeros, so with weights=None its output is all
  zeros, and a comparison with it cannot fail. Linear layers whose weights are all zero get seeded
  normal(0, 0.02) weights before export (the reference output is then torch's for those weights).

Same arguments as export_zoo.py:

    python3 bench/export_zoo_vit.py OUTDIR --models vit_b_16,vit_b_32 [--opset 17]
"""
import importlib.util
import os
import sys

import torch

torch.is_autocast_enabled = lambda: True  # noqa: E731 (see the docstring)

here = os.path.dirname(os.path.abspath(__file__))
script = os.path.join(here, "..", "..", "shared", "bench", "export_zoo.py")
spec = importlib.util.spec_from_file_location("export_zoo", script)
ez = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ez)
_build = ez.build


def build(name):
    m = _build(name)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.Linear) and not mod.weight.any():
                mod.weight.normal_(0, 0.02, generator=g)
    return m


ez.build = build
sys.argv[0] = script
sys.exit(ez.main())
