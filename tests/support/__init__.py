"""What tests, benchmarks and the file-generating scripts share: paths, pictures, the
hard-case table, the test vectors, servers on free ports and the browser.

Test modules import from here, never from each other.
"""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_DIR = PROJECT_ROOT / "lambda"
EVENTS_DIR = PROJECT_ROOT / "events"
