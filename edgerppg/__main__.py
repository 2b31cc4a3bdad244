from edgerppg.cli.main import main

main()
