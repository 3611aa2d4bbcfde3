"""Voting-weight search: GridSearchCV vs the fitted-member cache vs FusionWeightSearchCV.

The suite lives in the package (``mmlearn._bench.fusion_search``, also run by
``mmlearn bench --suite fusion_search``); this script is its command line in a
source checkout. ``--help`` lists the options; the module's docstring says
what is measured and how.
"""

import sys

from mmlearn._bench.fusion_search import main

if __name__ == "__main__":
    sys.exit(main())
