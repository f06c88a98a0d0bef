"""Train and evaluate with FastReID's engine and the plugin: what ``tools/train_net.py`` runs.

    python -m g2da_plugin.engine.train_net --config-file projects/G2DA/configs/sysu.yml [--eval-only]
        [--resume] [--num-gpus N] [KEY VALUE ...]
"""

from fastreid.engine import default_argument_parser, launch

from ..utils.errors import exit_on_input_error
from .defaults import load_trained_model, setup
from .trainer import G2DATrainer


def main(args):
    cfg = setup(args)
    if args.eval_only:
        return G2DATrainer.test(cfg, load_trained_model(cfg))
    trainer = G2DATrainer(cfg, config_file=args.config_file)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


@exit_on_input_error
def run(argv=None):
    """Parse FastReID's training arguments and launch :func:`main` on every process; a bad input ends
    the process with one ``g2da:`` line."""
    args = default_argument_parser().parse_args(argv)
    launch(main, args.num_gpus, num_machines=args.num_machines, machine_rank=args.machine_rank,
           dist_url=args.dist_url, args=(args,))


if __name__ == "__main__":
    run()
