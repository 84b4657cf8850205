"""Run ../shared/bench/export_zoo.py with torch 1.13's fused attention fast path off.

In eval mode under no_grad, torch 1.13's nn.MultiheadAttention calls aten::_native_multi_head_attention,
which torch.onnx cannot export ("UnsupportedOperatorError"), so export_zoo.py fails on vit_*.
Reporting autocast as enabled makes MultiheadAttention take its ordinary (exportable, same maths) path;
nothing else on the CPU export path reads it. Same arguments as export_zoo.py:

    python3 bench/export_zoo_vit.py OUTDIR --models vit_b_16,vit_b_32 [--opset 17]
"""
import os
import runpy
import sys

import torch

torch.is_autocast_enabled = lambda: True  # noqa: E731 (see docstring)
here = os.path.dirname(os.path.abspath(__file__))
script = os.path.join(here, "..", "..", "shared", "bench", "export_zoo.py")
sys.argv[0] = script
runpy.run_path(script, run_name="__main__")
