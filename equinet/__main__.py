"""``python -m equinet [compare|basis|train] [options]``: the main demos and training runs (see README.md).

* ``compare`` (default): translation- vs roto-translation-equivariant unrolled PGD, quick mode unless ``--full``
  (``docs/experiments.md``); results in ``--out`` (default ``outputs/comparison``).
* ``basis``: solve, print and plot a steerable kernel basis (``equinet/demo_basis.py``); figure in ``--out``
  (default ``outputs``).
* ``train CONFIG.toml [--resume] [--out DIR]``: train a reconstruction network from a TOML configuration
  (``docs/training.md``, examples in ``experiments/configs/``); under ``torchrun --nproc_per_node=N -m equinet
  train ...`` with DistributedDataParallel.
* ``estimate CONFIG.toml``: parameters, activation memory per step and the measured time of a short probe of
  that training run, before starting it (nothing is written).
* ``reproduce NAME [--quick | --full] [--out DIR] [--seed S]``: reproduce a result of the papers (``ei-table1``,
  ``toy-1d``, ``bias-free``, ``mri-ei``, ``lowdose-ct-rei``, ``design-plus-learning``; ``docs/reproduce_*.md``);
  results in ``--out`` (default ``outputs/reproduce/NAME``).
"""
import sys

COMMANDS = ("compare", "basis", "train", "reproduce", "estimate")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-V", "--version"):
        from . import __version__
        print(f"equinet {__version__}")
        return None
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        print("Options of each command: python -m equinet compare --help, python -m equinet basis --help, "
              "python -m equinet train --help")
        return None
    cmd = argv.pop(0) if argv and argv[0] in COMMANDS else "compare"
    if cmd not in ("train", "reproduce", "estimate") and argv and not argv[0].startswith("-"):
        raise SystemExit(f"unknown command {argv[0]!r}; expected one of {COMMANDS}")
    if cmd == "train":
        from .training.cli import main as train_main
        return train_main(argv)  # parses CONFIG.toml, --resume, --out
    if cmd == "estimate":
        from .training.estimate import main as estimate_main
        return estimate_main(argv)  # CONFIG.toml [--probe-steps N] [--device D]: parameters, memory, step time
    if cmd == "reproduce":
        from .experiments.reproduce import main as reproduce_main
        return reproduce_main(argv)  # NAME [--quick | --full] [--out DIR] [--seed S] (docs/reproduce_*.md)
    if cmd == "basis":
        from .demo_basis import main as basis_main
        return basis_main(argv)  # demo_basis parses --group, --kernel-size, --out, --seed
    from .experiments.comparison import main as compare_main
    return compare_main(argv, default_mode="quick", prog="python -m equinet compare")


if __name__ == "__main__":
    main()
