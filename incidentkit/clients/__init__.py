"""The only modules that talk to remote systems (and import requests or mwclient): plain HTTP for
JSON APIs, the Conduit (Phabricator) client and the MediaWiki client, all within one budget (a
pull's total deadline and an answer size cap, :mod:`.budget`). Secrets are scrubbed here."""
