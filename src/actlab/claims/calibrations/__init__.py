"""Published results reproduced at small scale, one module each: they calibrate actlab's
methods before its verdicts on the tutorials' claims are believed. Each quotes the
paper's statement and numbers, and its pass rule's tolerance comes from the paper's
rounding and the sampling error, fixed before any run; a miss is reported as "not
reproduced". Importing this package registers them all (``kind="calibration"`` in
:mod:`actlab.claims.framework`)."""

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
