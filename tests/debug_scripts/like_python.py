"""A script that relies on how ``python script.py`` runs it: ``__file__`` absolute (it
changes directory, then reads a file beside itself), its arguments exactly as given
(``--`` included), ``with ray.init() as context``, and ``sys.exit("message")``.

    python tests/debug_scripts/like_python.py -- x
    rldebug debug tests/debug_scripts/like_python.py -- x
"""

import json
import os
import sys
from pathlib import Path

import ray

os.chdir("/")
beside = Path(__file__).resolve().parent / "like_python.py"
seen = {"file_absolute": os.path.isabs(__file__), "reads_itself": beside.is_file(),
        "arguments": sys.argv[1:]}
with ray.init(include_dashboard=False) as context:
    seen["cpus"] = ray.cluster_resources().get("CPU")
    seen["context"] = type(context).__name__
seen["stopped"] = not ray.is_initialized()
print(json.dumps(seen))
sys.exit("stopping with a message")
