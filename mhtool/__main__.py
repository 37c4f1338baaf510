from mhtool.cli import main

main()
