"""The claims of the tutorials, one module each; importing this package registers them all
(see :mod:`actlab.claims.framework` for how to add one)."""

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
