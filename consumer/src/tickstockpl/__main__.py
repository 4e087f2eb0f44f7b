from tickstockpl.cli import main

raise SystemExit(main())
