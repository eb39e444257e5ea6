import os

# Two cores are shared by the whole suite; more intra-op threads than cores only adds contention.
os.environ.setdefault("OMP_NUM_THREADS", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
