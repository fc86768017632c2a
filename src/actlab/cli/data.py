"""``actlab data info`` and ``actlab data download``: the MNIST-format data sets."""

from __future__ import annotations

import argparse

from .. import data
from ._parser import defaults


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="datasets: what is found, and downloading MNIST-format files")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    i = dsub.add_parser("info", help="show where the data is found, item counts and checksum status")
    i.add_argument("--data", metavar="DIR", help=f"directory with the four IDX files (default: ${data.ENV_VAR}, "
                   "else the bundled data/mnist)")
    i.set_defaults(func=_info)
    d = dsub.add_parser("download", help="fetch, verify (checksum) and store the four IDX files; resumes")
    d.add_argument("--dataset", default=defaults(data.download)["dataset"],
                   help=f"dataset to fetch: {' or '.join(data.KNOWN)} (default: %(default)s)")
    d.add_argument("--mirror", metavar="URL", help="base URL the file names are appended to")
    d.add_argument("--dir", metavar="DIR", help=f"target directory (default: ${data.ENV_VAR}/DATASET, "
                   "else data/DATASET in the repository)")
    d.set_defaults(func=_download)


def _info(a: argparse.Namespace) -> int:
    print(data.info(a.data))
    return 0


def _download(a: argparse.Namespace) -> int:
    for f in data.download(a.dataset, mirror=a.mirror, directory=a.dir):
        print(f"{f.status:10s} {f.path}  ({f.identity[0]} {f.identity[1]}, {f.identity[2].replace('_', ' ')} ok)")
    return 0
