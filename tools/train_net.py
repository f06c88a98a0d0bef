#!/usr/bin/env python
"""Train and evaluate with FastReID's engine and the g2da plugin.

    python tools/train_net.py --config-file projects/G2DA/configs/sysu.yml [--eval-only]
        [--resume] [--num-gpus N] [KEY VALUE ...]
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402  (applies the fastreid compatibility fixes, registers the plugin)
from fastreid.engine import default_argument_parser, launch  # noqa: E402

from g2da_plugin.engine import G2DATrainer, load_trained_model, setup  # noqa: E402


def main(args):
    cfg = setup(args)
    if args.eval_only:
        return G2DATrainer.test(cfg, load_trained_model(cfg))
    trainer = G2DATrainer(cfg, config_file=args.config_file)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


def run(argv=None):
    args = default_argument_parser().parse_args(argv)
    try:
        launch(main, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
               dist_url=args.dist_url, args=(args,))
    except FileNotFoundError as e:
        # Missing data, weights or config files: one clear line, not a traceback.
        sys.exit(f"g2da: {e}")


if __name__ == "__main__":
    run()
