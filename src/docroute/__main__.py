from docroute.cli import main

main()
