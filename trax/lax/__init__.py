"""trax.lax: the primitives every other part of trax is written in."""
from trax.lax.elementwise import *  # noqa: F401,F403
from trax.lax.shape_ops import *  # noqa: F401,F403
from trax.lax.reductions import *  # noqa: F401,F403
from trax.lax.indexing import *  # noqa: F401,F403
from trax.lax.linalg import *  # noqa: F401,F403
from trax.lax.sorting import *  # noqa: F401,F403
