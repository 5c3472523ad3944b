"""`python -m dify_plugin_devkit`: the same program as the `dify-devkit` command."""

import sys

from dify_plugin_devkit._cli import main

sys.exit(main())
