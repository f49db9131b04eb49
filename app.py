"""The ELECTRA explorer: python app.py [--checkpoint PATH_OR_HUB_ID] [--host H] [--port P] [--share]

Serves http://127.0.0.1:7860 with the shipped model by default (the same as `electra-demo app`).
The page itself is electra_demo/app/page.py; the command line is electra_demo/app/main.py.
"""
from electra_demo.app.main import cli_main, parse_args  # noqa: F401  (parse_args: the flags, for tests and Spaces)

if __name__ == "__main__":
    cli_main()
