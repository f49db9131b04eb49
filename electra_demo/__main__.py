"""electra-demo app|train|predict|pretrain [ARGS]: one command for the four entry points (also python -m electra_demo)."""
import sys

COMMANDS = {
    "app": "electra_demo.app.main",
    "train": "electra_demo.training.train",
    "predict": "electra_demo.training.predict",
    "pretrain": "electra_demo.training.pretrain",
    "export-web": "electra_demo.app.web.export",
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: electra-demo {{{','.join(COMMANDS)}}} [ARGS]  (electra-demo COMMAND --help for each)", file=sys.stderr)
        sys.exit(0 if argv and argv[0] in ("-h", "--help") else 2)
    import importlib

    from .startup import startup

    with startup():  # the command's imports (torch, transformers, ...): no collector passes while they load
        command = importlib.import_module(COMMANDS[argv[0]])
    command.cli_main(argv[1:])
    return 0  # the console script passes this to sys.exit: a command's result (a dict) would exit 1 and print it


if __name__ == "__main__":
    main()
