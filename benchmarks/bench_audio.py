"""MFCCFeatures against a librosa.feature.mfcc loop, and FSDD accuracy.

The suite lives in the package (``mmlearn._bench.audio``, also run by
``mmlearn bench --suite audio``); this script is its command line in a
source checkout, reading the real datasets from ``../shared/data`` beside
the checkout unless ``--data-dir`` or ``$MMLEARN_DATA_DIR`` says otherwise
(``--help`` shows the folder it will read). ``--help`` lists the options;
the module's docstring says what is measured and how.
"""

import sys
from pathlib import Path

from mmlearn._bench.audio import main

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

if __name__ == "__main__":
    sys.exit(main(default_data_dir=DEFAULT_DATA_DIR))
