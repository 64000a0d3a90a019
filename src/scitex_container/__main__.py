from scitex_container.cli.main import main

main()
