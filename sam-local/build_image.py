"""Build the local stand-in for the Lambda Python 3.11 emulation image, for offline `sam local`
(what it holds and why: deploy/lambda_standin.py). Needs root, Docker and debootstrap.

    sudo make sam-image                             # build if missing, print the tag
    .venv/bin/python sam-local/build_image.py --tag # only print the tag
"""

from __future__ import annotations

import argparse
import sys

from deploy import lambda_standin
from deploy.debian_base import BuildError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", action="store_true", help="print the tag without building")
    arguments = parser.parse_args()
    if arguments.tag:
        print(lambda_standin.image_tag())
        return 0
    try:
        print(lambda_standin.ensure_image())
    except BuildError as error:
        print(f"build_image: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
