"""python -m circle.cli"""

from circle.cli import main

main()
