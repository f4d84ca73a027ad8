"""The chat app entry: `python ui/app.py [--host H] [--port P] [--store DIR]` is `caucasus-qa serve`."""

import sys

from caucasus_qa.faces.cli import main

if __name__ == "__main__":
    main(["serve", *sys.argv[1:]])
