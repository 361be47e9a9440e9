"""The code that runs inside a sandbox: imports the user's function and serves inputs.

Standard library only, and it must run on any Python >= 3.9: it is executed by the function's
own interpreter, not the agent's. The agent starts it with ``BOOTSTRAP`` (see ``__main__``):

    python -I [-S] -c BOOTSTRAP <dir holding the package> <package name> \
        --bundle DIR --handler module:function [--setup module:function] \
        [--max-inputs N] [--max-result-bytes N] [--packages DIR] --in-fd FD --out-fd FD

``--packages`` names a directory of packages the platform provides (cloudpickle, see ``payloads``),
searched after the function's own environment.

It talks to the agent with the frames of ``frames`` on two pipes (``--in-fd`` carries agent to
runtime, ``--out-fd`` the other way); fds 1 and 2 belong to the user's prints (the logs).
A handler that is a method of a class is served on one instance per container (see ``classes``).

A zygote (see ``zygote``) is started the same way with ``ZYGOTE_BOOTSTRAP``; the containers it
forks run ``__main__``'s serve loop with the options above.
"""

# -I ignores PYTHONPATH, and -m/-c add no package directory, so the bootstrap adds it itself.
BOOTSTRAP = (
    "import sys,importlib;sys.path.insert(0,sys.argv[1]);"
    "importlib.import_module(sys.argv[2]+'.__main__').main(sys.argv[3:])"
)
ZYGOTE_BOOTSTRAP = (
    "import sys,importlib;sys.path.insert(0,sys.argv[1]);"
    "importlib.import_module(sys.argv[2]+'.zygote').main(sys.argv[3:])"
)
