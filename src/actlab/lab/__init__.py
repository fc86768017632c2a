"""The lab: a local web page where learners play with activations on actlab's own engine.

``actlab lab`` starts it (:func:`~actlab.lab.app.serve`). Four views on one page:
Activations (the catalogue's f, f', f'' drawn from server-computed arrays), Playground
(TF Playground's 2-D sets trained live, one activation per layer), MNIST (the tutorials'
784-64-10 network trained live) and Claims (the runner's verdicts). The parts:

* :mod:`~actlab.lab.protocol`: the pydantic models of every message from the page;
* :mod:`~actlab.lab.inputs`: data sets, input features and the validated CSV upload;
* :mod:`~actlab.lab.training`: a run (Playground or MNIST) that advances and snapshots;
* :mod:`~actlab.lab.frames`: the compact binary frames a run streams;
* :mod:`~actlab.lab.sessions`: one worker process per session, and the busy limit;
* :mod:`~actlab.lab.curves`: the Activations view's arrays and property sheets;
* :mod:`~actlab.lab.claims_view`: verdicts from the cache and the quick run;
* :mod:`~actlab.lab.app`: the Starlette app (HTTP routes, the WebSocket) and :func:`serve`.

The room sits at the level of :mod:`actlab.claims`: it imports the rooms below it and
nothing imports it. See ``docs/lab.md``.
"""

__all__ = ["create_app", "serve"]


def __getattr__(name: str):
    # starlette and uvicorn load only when the app is asked for (the lab extra)
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
