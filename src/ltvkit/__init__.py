"""ltvkit: customer lifetime value analytics."""

from ltvkit.errors import LtvError
from ltvkit.io.normalize import ImportOptions
from ltvkit.overview import Overview, overview
from ltvkit.store import ImportAccount, Workspace

__all__ = ["ImportAccount", "ImportOptions", "LtvError", "Overview", "Workspace", "overview"]
__version__ = "0.1.0"
