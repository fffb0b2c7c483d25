from codex_release.cli import main

main()
