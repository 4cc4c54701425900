"""Entry point for `urumi` and `python -m urumi_cli`."""

import sys


def main() -> None:
    from urumi_cli.cli.app import run

    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
