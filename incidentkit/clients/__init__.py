"""The only modules that talk to remote systems (and import requests or mwclient): plain HTTP for
JSON APIs, the Conduit (Phabricator) client and the MediaWiki client. Secrets are scrubbed here."""
