from scitex_container.cli.entry import main

main()
