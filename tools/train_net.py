#!/usr/bin/env python
"""Train and evaluate with FastReID's engine and the g2da plugin.

    python tools/train_net.py --config-file projects/G2DA/configs/sysu.yml [--eval-only]
        [--resume] [--num-gpus N] [KEY VALUE ...]
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (applies the fastreid compatibility fixes, registers the plugin)
from g2da_plugin.engine.train_net import run  # noqa: E402

if __name__ == "__main__":
    run()
