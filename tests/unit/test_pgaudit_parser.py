"""Unit tests of the pgaudit parser on log excerpts captured from a real PostgreSQL 15 + pgaudit 1.7.

The samples below are verbatim lines written by the server of tests/realservers/postgres.py
(pgaudit.log=all, log_relation=on, log_rows=on, log_connections/disconnections=on) running the
workload of tests/integration/test_pgaudit_server.py: jsonlog with log_timezone=UTC, csvlog with
Etc/GMT-8 (zone printed as "+08"), stderr with Europe/Berlin ("CET") and the documented prefix.
"""

from __future__ import annotations

import pytest

from connectors.sources.base import Emitted, Line, SourceOptions, Unparseable, stable_id
from connectors.sources.pgaudit import STDERR_PREFIX, PgAuditParser, compile_prefix
from schemas.normalize import normalize_db

# fmt: off
JSONLOG = r'''
{"timestamp":"2026-11-27 00:21:55.862 UTC","pid":12931,"session_id":"6b08cd23.3283","line_num":1,"session_start":"2026-11-27 00:21:55 UTC","txid":0,"error_severity":"LOG","message":"ending log output to stderr","hint":"Future log output will go to log destination \"jsonlog\".","backend_type":"postmaster","query_id":0}
{"timestamp":"2026-11-27 00:21:56.217 UTC","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":1,"ps":"","session_start":"2026-11-27 00:21:56 UTC","txid":0,"error_severity":"LOG","message":"connection received: host=127.0.0.1 port=37046","backend_type":"not initialized","query_id":0}
{"timestamp":"2026-11-27 00:21:56.223 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":2,"ps":"authentication","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/13","txid":0,"error_severity":"LOG","message":"connection authenticated: identity=\"alice\" method=scram-sha-256 (/tmp/parasol-pg-mvk3eghx/data/pg_hba.conf:2)","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.223 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":3,"ps":"authentication","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/13","txid":0,"error_severity":"LOG","message":"connection authorized: user=alice database=shop application_name=shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.228 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":4,"ps":"CREATE TABLE","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/14","txid":730,"error_severity":"LOG","message":"AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,public.customers,\"CREATE TABLE customers (id int PRIMARY KEY, name text, email text);\",<not logged>,0","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.228 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":5,"ps":"CREATE TABLE","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/14","txid":730,"error_severity":"LOG","message":"AUDIT: SESSION,1,1,DDL,CREATE INDEX,INDEX,public.customers_pkey,\"CREATE TABLE customers (id int PRIMARY KEY, name text, email text);\",<not logged>,0","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.228 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":6,"ps":"INSERT","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/15","txid":731,"error_severity":"LOG","message":"AUDIT: SESSION,2,1,WRITE,INSERT,TABLE,public.customers,\"INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', 'bob@example.com');\",<not logged>,2","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.228 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":7,"ps":"INSERT","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/16","txid":732,"error_severity":"LOG","message":"AUDIT: SESSION,3,1,WRITE,INSERT,TABLE,public.customers,\"INSERT INTO customers VALUES (3, 'O''Neil, \"\"Jr\"\"', 'jr@example.com');\",<not logged>,1","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.228 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":8,"ps":"SELECT","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/17","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,4,1,READ,SELECT,TABLE,public.customers,\"SELECT id, name\n  FROM customers\n WHERE name LIKE '%O''Neil, \"\"%';\",<not logged>,1","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.229 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":9,"ps":"UPDATE","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/18","txid":733,"error_severity":"LOG","message":"AUDIT: SESSION,5,1,WRITE,UPDATE,TABLE,public.customers,UPDATE customers SET email = 'ann@new.example' WHERE id = 1;,<not logged>,1","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.229 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":10,"ps":"DELETE","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/19","txid":734,"error_severity":"LOG","message":"AUDIT: SESSION,6,1,WRITE,DELETE,TABLE,public.customers,DELETE FROM customers WHERE id = 2;,<not logged>,1","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.229 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":11,"ps":"GRANT","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/20","txid":735,"error_severity":"LOG","message":"AUDIT: SESSION,7,1,ROLE,GRANT,TABLE,,\"GRANT SELECT, INSERT ON customers TO bob;\",<not logged>,0","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.230 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":12,"ps":"CREATE FUNCTION","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/21","txid":736,"error_severity":"LOG","message":"AUDIT: SESSION,8,1,DDL,CREATE FUNCTION,FUNCTION,public.risky(integer),\"CREATE FUNCTION risky(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO customers VALUES (i, 'r', 'r'); RETURN 1 / (i - i); END $$;\",<not logged>,0","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.230 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":13,"ps":"SELECT","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/22","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,9,1,FUNCTION,EXECUTE,FUNCTION,public.risky,SELECT risky(42);,<not logged>,0","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.230 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":14,"ps":"SELECT","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/22","txid":737,"error_severity":"LOG","message":"AUDIT: SESSION,9,2,WRITE,INSERT,TABLE,public.customers,\"INSERT INTO customers VALUES (i, 'r', 'r')\",<not logged>,1","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.231 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":15,"ps":"SELECT","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/22","txid":737,"error_severity":"ERROR","state_code":"22012","message":"division by zero","context":"PL/pgSQL function risky(integer) line 1 at RETURN","statement":"SELECT risky(42);","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.231 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":16,"ps":"SELECT","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/23","txid":0,"error_severity":"ERROR","state_code":"22012","message":"division by zero","statement":"SELECT 1 / 0 AS boom;","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.232 UTC","user":"alice","dbname":"shop","pid":12992,"remote_host":"127.0.0.1","remote_port":37046,"session_id":"6b08cd24.32c0","line_num":17,"ps":"idle","session_start":"2026-11-27 00:21:56 UTC","txid":0,"error_severity":"LOG","message":"disconnection: session time: 0:00:00.014 user=alice database=shop host=127.0.0.1 port=37046","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.265 UTC","user":"bob","dbname":"shop","pid":12996,"remote_host":"127.0.0.1","remote_port":37056,"session_id":"6b08cd24.32c4","line_num":2,"ps":"authentication","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/31","txid":0,"error_severity":"FATAL","state_code":"28P01","message":"password authentication failed for user \"bob\"","detail":"Connection matched pg_hba.conf line 2: \"host all all 127.0.0.1/32 scram-sha-256\"","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.278 UTC","user":"mallory","dbname":"shop","pid":12998,"remote_host":"127.0.0.1","remote_port":37070,"session_id":"6b08cd24.32c6","line_num":2,"ps":"authentication","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/32","txid":0,"error_severity":"FATAL","state_code":"28P01","message":"password authentication failed for user \"mallory\"","detail":"Role \"mallory\" does not exist.\nConnection matched pg_hba.conf line 2: \"host all all 127.0.0.1/32 scram-sha-256\"","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.295 UTC","user":"alice","dbname":"nodb","pid":13000,"remote_host":"127.0.0.1","remote_port":37086,"session_id":"6b08cd24.32c8","line_num":2,"ps":"authentication","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/33","txid":0,"error_severity":"LOG","message":"connection authenticated: identity=\"alice\" method=scram-sha-256 (/tmp/parasol-pg-mvk3eghx/data/pg_hba.conf:2)","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.295 UTC","user":"alice","dbname":"nodb","pid":13000,"remote_host":"127.0.0.1","remote_port":37086,"session_id":"6b08cd24.32c8","line_num":3,"ps":"authentication","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/33","txid":0,"error_severity":"LOG","message":"connection authorized: user=alice database=nodb application_name=psql","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.295 UTC","user":"alice","dbname":"nodb","pid":13000,"remote_host":"127.0.0.1","remote_port":37086,"session_id":"6b08cd24.32c8","line_num":4,"ps":"startup","session_start":"2026-11-27 00:21:56 UTC","vxid":"3/33","txid":0,"error_severity":"FATAL","state_code":"3D000","message":"database \"nodb\" does not exist","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:21:56.309 UTC","pid":12933,"session_id":"6b08cd23.3285","line_num":1,"session_start":"2026-11-27 00:21:55 UTC","txid":0,"error_severity":"LOG","message":"checkpoint starting: immediate force wait","backend_type":"checkpointer","query_id":0}
'''[1:]

CSVLOG = r'''
2026-11-27 08:21:57.713 +08,,,13052,,6b08cd25.32fc,1,,2026-11-27 08:21:57 +08,,0,LOG,00000,"ending log output to stderr",,"Future log output will go to log destination ""csvlog"".",,,,,,,"","postmaster",,0
2026-11-27 08:21:58.130 +08,,,13073,"127.0.0.1:34364",6b08cd26.3311,1,"",2026-11-27 08:21:58 +08,,0,LOG,00000,"connection received: host=127.0.0.1 port=34364",,,,,,,,,"","not initialized",,0
2026-11-27 08:21:58.135 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,2,"authentication",2026-11-27 08:21:58 +08,3/13,0,LOG,00000,"connection authenticated: identity=""alice"" method=scram-sha-256 (/tmp/parasol-pg-qy7nzaa5/data/pg_hba.conf:2)",,,,,,,,,"","client backend",,0
2026-11-27 08:21:58.135 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,3,"authentication",2026-11-27 08:21:58 +08,3/13,0,LOG,00000,"connection authorized: user=alice database=shop application_name=shop-app",,,,,,,,,"","client backend",,0
2026-11-27 08:21:58.148 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,4,"CREATE TABLE",2026-11-27 08:21:58 +08,3/14,730,LOG,00000,"AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,public.customers,""CREATE TABLE customers (id int PRIMARY KEY, name text, email text);"",<not logged>,0",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.148 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,5,"CREATE TABLE",2026-11-27 08:21:58 +08,3/14,730,LOG,00000,"AUDIT: SESSION,1,1,DDL,CREATE INDEX,INDEX,public.customers_pkey,""CREATE TABLE customers (id int PRIMARY KEY, name text, email text);"",<not logged>,0",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.149 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,6,"INSERT",2026-11-27 08:21:58 +08,3/15,731,LOG,00000,"AUDIT: SESSION,2,1,WRITE,INSERT,TABLE,public.customers,""INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', 'bob@example.com');"",<not logged>,2",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.149 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,7,"INSERT",2026-11-27 08:21:58 +08,3/16,732,LOG,00000,"AUDIT: SESSION,3,1,WRITE,INSERT,TABLE,public.customers,""INSERT INTO customers VALUES (3, 'O''Neil, """"Jr""""', 'jr@example.com');"",<not logged>,1",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.149 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,8,"SELECT",2026-11-27 08:21:58 +08,3/17,0,LOG,00000,"AUDIT: SESSION,4,1,READ,SELECT,TABLE,public.customers,""SELECT id, name
  FROM customers
 WHERE name LIKE '%O''Neil, """"%';"",<not logged>,1",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.149 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,9,"UPDATE",2026-11-27 08:21:58 +08,3/18,733,LOG,00000,"AUDIT: SESSION,5,1,WRITE,UPDATE,TABLE,public.customers,UPDATE customers SET email = 'ann@new.example' WHERE id = 1;,<not logged>,1",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.149 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,10,"DELETE",2026-11-27 08:21:58 +08,3/19,734,LOG,00000,"AUDIT: SESSION,6,1,WRITE,DELETE,TABLE,public.customers,DELETE FROM customers WHERE id = 2;,<not logged>,1",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.150 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,11,"GRANT",2026-11-27 08:21:58 +08,3/20,735,LOG,00000,"AUDIT: SESSION,7,1,ROLE,GRANT,TABLE,,""GRANT SELECT, INSERT ON customers TO bob;"",<not logged>,0",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.151 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,12,"CREATE FUNCTION",2026-11-27 08:21:58 +08,3/21,736,LOG,00000,"AUDIT: SESSION,8,1,DDL,CREATE FUNCTION,FUNCTION,public.risky(integer),""CREATE FUNCTION risky(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO customers VALUES (i, 'r', 'r'); RETURN 1 / (i - i); END $$;"",<not logged>,0",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.151 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,13,"SELECT",2026-11-27 08:21:58 +08,3/22,0,LOG,00000,"AUDIT: SESSION,9,1,FUNCTION,EXECUTE,FUNCTION,public.risky,SELECT risky(42);,<not logged>,0",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.151 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,14,"SELECT",2026-11-27 08:21:58 +08,3/22,737,LOG,00000,"AUDIT: SESSION,9,2,WRITE,INSERT,TABLE,public.customers,""INSERT INTO customers VALUES (i, 'r', 'r')"",<not logged>,1",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.151 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,15,"SELECT",2026-11-27 08:21:58 +08,3/22,737,ERROR,22012,"division by zero",,,,,"PL/pgSQL function risky(integer) line 1 at RETURN","SELECT risky(42);",,,"shop-app","client backend",,0
2026-11-27 08:21:58.151 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,16,"SELECT",2026-11-27 08:21:58 +08,3/23,0,ERROR,22012,"division by zero",,,,,,"SELECT 1 / 0 AS boom;",,,"shop-app","client backend",,0
2026-11-27 08:21:58.152 +08,"alice","shop",13073,"127.0.0.1:34364",6b08cd26.3311,17,"idle",2026-11-27 08:21:58 +08,,0,LOG,00000,"disconnection: session time: 0:00:00.022 user=alice database=shop host=127.0.0.1 port=34364",,,,,,,,,"shop-app","client backend",,0
2026-11-27 08:21:58.184 +08,"bob","shop",13077,"127.0.0.1:34388",6b08cd26.3315,2,"authentication",2026-11-27 08:21:58 +08,3/31,0,FATAL,28P01,"password authentication failed for user ""bob""","Connection matched pg_hba.conf line 2: ""host all all 127.0.0.1/32 scram-sha-256""",,,,,,,,"","client backend",,0
2026-11-27 08:21:58.198 +08,"mallory","shop",13079,"127.0.0.1:34398",6b08cd26.3317,2,"authentication",2026-11-27 08:21:58 +08,3/32,0,FATAL,28P01,"password authentication failed for user ""mallory""","Role ""mallory"" does not exist.
Connection matched pg_hba.conf line 2: ""host all all 127.0.0.1/32 scram-sha-256""",,,,,,,,"","client backend",,0
2026-11-27 08:21:58.211 +08,"alice","nodb",13081,"127.0.0.1:34412",6b08cd26.3319,3,"authentication",2026-11-27 08:21:58 +08,3/33,0,LOG,00000,"connection authorized: user=alice database=nodb application_name=psql",,,,,,,,,"","client backend",,0
2026-11-27 08:21:58.212 +08,"alice","nodb",13081,"127.0.0.1:34412",6b08cd26.3319,4,"startup",2026-11-27 08:21:58 +08,3/33,0,FATAL,3D000,"database ""nodb"" does not exist",,,,,,,,,"","client backend",,0
2026-11-27 08:21:58.221 +08,,,13054,,6b08cd25.32fe,1,,2026-11-27 08:21:57 +08,,0,LOG,00000,"checkpoint starting: immediate force wait",,,,,,,,,"","checkpointer",,0
'''[1:]

STDERR = '''
2026-11-27 01:21:59.718 CET [13106] LOG:  starting PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14+deb12u1) 12.2.0, 64-bit
2026-11-27 01:22:00.182 CET [13175] session=6b08cd28.3377 line=1 client=127.0.0.1 user=[unknown] db=[unknown] app=[unknown] cmd= state=00000 LOG:  connection received: host=127.0.0.1 port=51234
2026-11-27 01:22:00.191 CET [13175] session=6b08cd28.3377 line=2 client=127.0.0.1 user=alice db=shop app=[unknown] cmd=authentication state=00000 LOG:  connection authenticated: identity="alice" method=scram-sha-256 (/tmp/parasol-pg-iw7d05bu/data/pg_hba.conf:2)
2026-11-27 01:22:00.194 CET [13175] session=6b08cd28.3377 line=3 client=127.0.0.1 user=alice db=shop app=[unknown] cmd=authentication state=00000 LOG:  connection authorized: user=alice database=shop application_name=shop-app
2026-11-27 01:22:00.205 CET [13175] session=6b08cd28.3377 line=4 client=127.0.0.1 user=alice db=shop app=shop-app cmd=CREATE TABLE state=00000 LOG:  AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,public.customers,"CREATE TABLE customers (id int PRIMARY KEY, name text, email text);",<not logged>,0
2026-11-27 01:22:00.208 CET [13175] session=6b08cd28.3377 line=5 client=127.0.0.1 user=alice db=shop app=shop-app cmd=CREATE TABLE state=00000 LOG:  AUDIT: SESSION,1,1,DDL,CREATE INDEX,INDEX,public.customers_pkey,"CREATE TABLE customers (id int PRIMARY KEY, name text, email text);",<not logged>,0
2026-11-27 01:22:00.208 CET [13175] session=6b08cd28.3377 line=6 client=127.0.0.1 user=alice db=shop app=shop-app cmd=INSERT state=00000 LOG:  AUDIT: SESSION,2,1,WRITE,INSERT,TABLE,public.customers,"INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', 'bob@example.com');",<not logged>,2
2026-11-27 01:22:00.208 CET [13175] session=6b08cd28.3377 line=7 client=127.0.0.1 user=alice db=shop app=shop-app cmd=INSERT state=00000 LOG:  AUDIT: SESSION,3,1,WRITE,INSERT,TABLE,public.customers,"INSERT INTO customers VALUES (3, 'O''Neil, ""Jr""', 'jr@example.com');",<not logged>,1
2026-11-27 01:22:00.209 CET [13175] session=6b08cd28.3377 line=8 client=127.0.0.1 user=alice db=shop app=shop-app cmd=SELECT state=00000 LOG:  AUDIT: SESSION,4,1,READ,SELECT,TABLE,public.customers,"SELECT id, name
\t  FROM customers
\t WHERE name LIKE '%O''Neil, ""%';",<not logged>,1
2026-11-27 01:22:00.209 CET [13175] session=6b08cd28.3377 line=9 client=127.0.0.1 user=alice db=shop app=shop-app cmd=UPDATE state=00000 LOG:  AUDIT: SESSION,5,1,WRITE,UPDATE,TABLE,public.customers,UPDATE customers SET email = 'ann@new.example' WHERE id = 1;,<not logged>,1
2026-11-27 01:22:00.209 CET [13175] session=6b08cd28.3377 line=10 client=127.0.0.1 user=alice db=shop app=shop-app cmd=DELETE state=00000 LOG:  AUDIT: SESSION,6,1,WRITE,DELETE,TABLE,public.customers,DELETE FROM customers WHERE id = 2;,<not logged>,1
2026-11-27 01:22:00.209 CET [13175] session=6b08cd28.3377 line=11 client=127.0.0.1 user=alice db=shop app=shop-app cmd=GRANT state=00000 LOG:  AUDIT: SESSION,7,1,ROLE,GRANT,TABLE,,"GRANT SELECT, INSERT ON customers TO bob;",<not logged>,0
2026-11-27 01:22:00.211 CET [13175] session=6b08cd28.3377 line=12 client=127.0.0.1 user=alice db=shop app=shop-app cmd=CREATE FUNCTION state=00000 LOG:  AUDIT: SESSION,8,1,DDL,CREATE FUNCTION,FUNCTION,public.risky(integer),"CREATE FUNCTION risky(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO customers VALUES (i, 'r', 'r'); RETURN 1 / (i - i); END $$;",<not logged>,0
2026-11-27 01:22:00.211 CET [13175] session=6b08cd28.3377 line=13 client=127.0.0.1 user=alice db=shop app=shop-app cmd=SELECT state=00000 LOG:  AUDIT: SESSION,9,1,FUNCTION,EXECUTE,FUNCTION,public.risky,SELECT risky(42);,<not logged>,0
2026-11-27 01:22:00.211 CET [13175] session=6b08cd28.3377 line=14 client=127.0.0.1 user=alice db=shop app=shop-app cmd=SELECT state=00000 LOG:  AUDIT: SESSION,9,2,WRITE,INSERT,TABLE,public.customers,"INSERT INTO customers VALUES (i, 'r', 'r')",<not logged>,1
2026-11-27 01:22:00.211 CET [13175] session=6b08cd28.3377 line=15 client=127.0.0.1 user=alice db=shop app=shop-app cmd=SELECT state=22012 ERROR:  division by zero
2026-11-27 01:22:00.211 CET [13175] session=6b08cd28.3377 line=16 client=127.0.0.1 user=alice db=shop app=shop-app cmd=SELECT state=22012 CONTEXT:  PL/pgSQL function risky(integer) line 1 at RETURN
2026-11-27 01:22:00.211 CET [13175] session=6b08cd28.3377 line=17 client=127.0.0.1 user=alice db=shop app=shop-app cmd=SELECT state=22012 STATEMENT:  SELECT risky(42);
2026-11-27 01:22:00.212 CET [13175] session=6b08cd28.3377 line=18 client=127.0.0.1 user=alice db=shop app=shop-app cmd=SELECT state=22012 ERROR:  division by zero
2026-11-27 01:22:00.212 CET [13175] session=6b08cd28.3377 line=19 client=127.0.0.1 user=alice db=shop app=shop-app cmd=SELECT state=22012 STATEMENT:  SELECT 1 / 0 AS boom;
2026-11-27 01:22:00.218 CET [13175] session=6b08cd28.3377 line=20 client=127.0.0.1 user=alice db=shop app=shop-app cmd=idle state=00000 LOG:  disconnection: session time: 0:00:00.037 user=alice database=shop host=127.0.0.1 port=51234
2026-11-27 01:22:00.305 CET [13182] session=6b08cd28.337e line=2 client=127.0.0.1 user=mallory db=shop app=[unknown] cmd=authentication state=28P01 FATAL:  password authentication failed for user "mallory"
2026-11-27 01:22:00.305 CET [13182] session=6b08cd28.337e line=3 client=127.0.0.1 user=mallory db=shop app=[unknown] cmd=authentication state=28P01 DETAIL:  Role "mallory" does not exist.
\tConnection matched pg_hba.conf line 2: "host all all 127.0.0.1/32 scram-sha-256"
2026-11-27 01:22:00.339 CET [13184] session=6b08cd28.3380 line=2 client=127.0.0.1 user=alice db=nodb app=[unknown] cmd=authentication state=00000 LOG:  connection authenticated: identity="alice" method=scram-sha-256 (/tmp/parasol-pg-iw7d05bu/data/pg_hba.conf:2)
2026-11-27 01:22:00.339 CET [13184] session=6b08cd28.3380 line=3 client=127.0.0.1 user=alice db=nodb app=[unknown] cmd=authentication state=00000 LOG:  connection authorized: user=alice database=nodb application_name=psql
2026-11-27 01:22:00.339 CET [13184] session=6b08cd28.3380 line=4 client=127.0.0.1 user=alice db=nodb app=[unknown] cmd=startup state=3D000 FATAL:  database "nodb" does not exist
2026-11-27 01:22:00.358 CET [13108] LOG:  checkpoint starting: immediate force wait
'''[1:]

JSON_ROWS_OFF = r'''
{"timestamp":"2026-11-27 00:16:37.223 UTC","user":"alice","dbname":"shop","pid":9427,"remote_host":"127.0.0.1","remote_port":38448,"session_id":"6b08cbe5.24d3","line_num":3,"ps":"authentication","session_start":"2026-11-27 00:16:37 UTC","vxid":"3/18","txid":0,"error_severity":"LOG","message":"connection authorized: user=alice database=shop application_name=t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:16:37.225 UTC","user":"alice","dbname":"shop","pid":9427,"remote_host":"127.0.0.1","remote_port":38448,"session_id":"6b08cbe5.24d3","line_num":4,"ps":"INSERT","session_start":"2026-11-27 00:16:37 UTC","vxid":"3/19","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,1,1,WRITE,INSERT,TABLE,public.customers,\"INSERT INTO customers VALUES (1, 'dup', 'd');\",<none>","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:16:37.225 UTC","user":"alice","dbname":"shop","pid":9427,"remote_host":"127.0.0.1","remote_port":38448,"session_id":"6b08cbe5.24d3","line_num":5,"ps":"INSERT","session_start":"2026-11-27 00:16:37 UTC","vxid":"3/19","txid":734,"error_severity":"ERROR","state_code":"23505","message":"duplicate key value violates unique constraint \"customers_pkey\"","detail":"Key (id)=(1) already exists.","statement":"INSERT INTO customers VALUES (1, 'dup', 'd');","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:16:37.225 UTC","user":"alice","dbname":"shop","pid":9427,"remote_host":"127.0.0.1","remote_port":38448,"session_id":"6b08cbe5.24d3","line_num":6,"ps":"idle","session_start":"2026-11-27 00:16:37 UTC","txid":0,"error_severity":"LOG","message":"disconnection: session time: 0:00:00.008 user=alice database=shop host=127.0.0.1 port=38448","application_name":"t","backend_type":"client backend","query_id":0}
'''[1:]

JSON_PARAMS = r'''
{"timestamp":"2026-11-27 00:17:00.161 UTC","user":"alice","dbname":"shop","pid":9602,"remote_host":"127.0.0.1","remote_port":42366,"session_id":"6b08cbfc.2582","line_num":3,"ps":"authentication","session_start":"2026-11-27 00:17:00 UTC","vxid":"3/20","txid":0,"error_severity":"LOG","message":"connection authorized: user=alice database=shop application_name=t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.163 UTC","user":"alice","dbname":"shop","pid":9602,"remote_host":"127.0.0.1","remote_port":42366,"session_id":"6b08cbfc.2582","line_num":4,"ps":"SELECT","session_start":"2026-11-27 00:17:00 UTC","vxid":"3/21","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,1,1,FUNCTION,EXECUTE,FUNCTION,public.g,SELECT g(0) FROM customers;,<none>,0","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.164 UTC","user":"alice","dbname":"shop","pid":9602,"remote_host":"127.0.0.1","remote_port":42366,"session_id":"6b08cbfc.2582","line_num":5,"ps":"SELECT","session_start":"2026-11-27 00:17:00 UTC","vxid":"3/21","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,1,2,READ,SELECT,TABLE,public.customers,(SELECT count(*) FROM customers WHERE id > i),\"0,\",1","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.164 UTC","user":"alice","dbname":"shop","pid":9602,"remote_host":"127.0.0.1","remote_port":42366,"session_id":"6b08cbfc.2582","line_num":6,"ps":"SELECT","session_start":"2026-11-27 00:17:00 UTC","vxid":"3/21","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,1,3,READ,SELECT,TABLE,public.customers,(SELECT count(*) FROM customers WHERE id > i),\"0,\",1","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.164 UTC","user":"alice","dbname":"shop","pid":9602,"remote_host":"127.0.0.1","remote_port":42366,"session_id":"6b08cbfc.2582","line_num":7,"ps":"SELECT","session_start":"2026-11-27 00:17:00 UTC","vxid":"3/21","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,1,4,READ,SELECT,TABLE,public.customers,SELECT g(0) FROM customers;,<none>,2","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.164 UTC","user":"alice","dbname":"shop","pid":9602,"remote_host":"127.0.0.1","remote_port":42366,"session_id":"6b08cbfc.2582","line_num":8,"ps":"idle","session_start":"2026-11-27 00:17:00 UTC","txid":0,"error_severity":"LOG","message":"disconnection: session time: 0:00:00.011 user=alice database=shop host=127.0.0.1 port=42366","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.204 UTC","user":"alice","dbname":"shop","pid":9606,"remote_host":"127.0.0.1","remote_port":42384,"session_id":"6b08cbfc.2586","line_num":3,"ps":"authentication","session_start":"2026-11-27 00:17:00 UTC","vxid":"3/24","txid":0,"error_severity":"LOG","message":"connection authorized: user=alice database=shop application_name=t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.205 UTC","user":"alice","dbname":"shop","pid":9606,"remote_host":"127.0.0.1","remote_port":42384,"session_id":"6b08cbfc.2586","line_num":4,"ps":"PREPARE","session_start":"2026-11-27 00:17:00 UTC","vxid":"3/25","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,1,1,READ,PREPARE,,,PREPARE p(int) AS SELECT * FROM customers WHERE id=$1;,<none>,0","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.206 UTC","user":"alice","dbname":"shop","pid":9606,"remote_host":"127.0.0.1","remote_port":42384,"session_id":"6b08cbfc.2586","line_num":5,"ps":"EXECUTE","session_start":"2026-11-27 00:17:00 UTC","vxid":"3/26","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,2,1,READ,SELECT,TABLE,public.customers,PREPARE p(int) AS SELECT * FROM customers WHERE id=$1;,1,1","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.206 UTC","user":"alice","dbname":"shop","pid":9606,"remote_host":"127.0.0.1","remote_port":42384,"session_id":"6b08cbfc.2586","line_num":6,"ps":"EXECUTE","session_start":"2026-11-27 00:17:00 UTC","vxid":"3/26","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,2,2,MISC,EXECUTE,,,EXECUTE p(1);,<none>,0","application_name":"t","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:17:00.206 UTC","user":"alice","dbname":"shop","pid":9606,"remote_host":"127.0.0.1","remote_port":42384,"session_id":"6b08cbfc.2586","line_num":7,"ps":"idle","session_start":"2026-11-27 00:17:00 UTC","txid":0,"error_severity":"LOG","message":"disconnection: session time: 0:00:00.010 user=alice database=shop host=127.0.0.1 port=42384","application_name":"t","backend_type":"client backend","query_id":0}
'''[1:]

JSON_VIEW = r'''
{"timestamp":"2026-11-27 00:14:41.843 UTC","user":"alice","dbname":"shop","pid":8537,"remote_host":"127.0.0.1","remote_port":59136,"session_id":"6b08cb71.2159","line_num":11,"ps":"SELECT","session_start":"2026-11-27 00:14:41 UTC","vxid":"3/19","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,8,1,READ,SELECT,VIEW,public.v,SELECT count(*) FROM v;,<not logged>,1","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:14:41.843 UTC","user":"alice","dbname":"shop","pid":8537,"remote_host":"127.0.0.1","remote_port":59136,"session_id":"6b08cb71.2159","line_num":12,"ps":"SELECT","session_start":"2026-11-27 00:14:41 UTC","vxid":"3/19","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,8,1,MISC,???,VIEW,public.v,SELECT count(*) FROM v;,<not logged>,1","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:14:41.843 UTC","user":"alice","dbname":"shop","pid":8537,"remote_host":"127.0.0.1","remote_port":59136,"session_id":"6b08cb71.2159","line_num":13,"ps":"SELECT","session_start":"2026-11-27 00:14:41 UTC","vxid":"3/19","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,8,1,READ,SELECT,TABLE,public.customers,SELECT count(*) FROM v;,<not logged>,1","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:14:41.843 UTC","user":"alice","dbname":"shop","pid":8537,"remote_host":"127.0.0.1","remote_port":59136,"session_id":"6b08cb71.2159","line_num":14,"ps":"SELECT","session_start":"2026-11-27 00:14:41 UTC","vxid":"3/19","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,8,1,READ,SELECT,TABLE,public.customers,SELECT count(*) FROM v;,<not logged>,1","application_name":"shop-app","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:14:41.844 UTC","user":"alice","dbname":"shop","pid":8537,"remote_host":"127.0.0.1","remote_port":59136,"session_id":"6b08cb71.2159","line_num":15,"ps":"SELECT","session_start":"2026-11-27 00:14:41 UTC","vxid":"3/20","txid":0,"error_severity":"ERROR","state_code":"22012","message":"division by zero","statement":"SELECT 1/0;","application_name":"shop-app","backend_type":"client backend","query_id":0}
'''[1:]

# Trust over the socket as a role that does not exist, a replication login refused, and a
# superuser session over the socket (no client address).
JSON_LOGINS = r'''
{"timestamp":"2026-11-27 00:27:11.143 UTC","pid":18109,"remote_host":"[local]","session_id":"6b08ce5f.46bd","line_num":1,"ps":"","session_start":"2026-11-27 00:27:11 UTC","txid":0,"error_severity":"LOG","message":"connection received: host=[local]","backend_type":"not initialized","query_id":0}
{"timestamp":"2026-11-27 00:27:11.143 UTC","user":"ghost","dbname":"shop","pid":18109,"remote_host":"[local]","session_id":"6b08ce5f.46bd","line_num":2,"ps":"authentication","session_start":"2026-11-27 00:27:11 UTC","vxid":"3/13","txid":0,"error_severity":"LOG","message":"connection authorized: user=ghost database=shop application_name=psql","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:27:11.143 UTC","user":"ghost","dbname":"shop","pid":18109,"remote_host":"[local]","session_id":"6b08ce5f.46bd","line_num":3,"ps":"startup","session_start":"2026-11-27 00:27:11 UTC","vxid":"3/13","txid":0,"error_severity":"FATAL","state_code":"28000","message":"role \"ghost\" does not exist","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:27:11.152 UTC","pid":18111,"remote_host":"127.0.0.1","remote_port":53290,"session_id":"6b08ce5f.46bf","line_num":1,"ps":"","session_start":"2026-11-27 00:27:11 UTC","txid":0,"error_severity":"LOG","message":"connection received: host=127.0.0.1 port=53290","backend_type":"not initialized","query_id":0}
{"timestamp":"2026-11-27 00:27:11.157 UTC","user":"alice","dbname":"shop","pid":18111,"remote_host":"127.0.0.1","remote_port":53290,"session_id":"6b08ce5f.46bf","line_num":2,"ps":"authentication","session_start":"2026-11-27 00:27:11 UTC","vxid":"3/14","txid":0,"error_severity":"LOG","message":"connection authenticated: identity=\"alice\" method=scram-sha-256 (/tmp/parasol-pg-frxmnnlb/data/pg_hba.conf:2)","backend_type":"walsender","query_id":0}
{"timestamp":"2026-11-27 00:27:11.157 UTC","user":"alice","dbname":"shop","pid":18111,"remote_host":"127.0.0.1","remote_port":53290,"session_id":"6b08ce5f.46bf","line_num":3,"ps":"authentication","session_start":"2026-11-27 00:27:11 UTC","vxid":"3/14","txid":0,"error_severity":"LOG","message":"replication connection authorized: user=alice application_name=psql","backend_type":"walsender","query_id":0}
{"timestamp":"2026-11-27 00:27:11.157 UTC","user":"alice","dbname":"shop","pid":18111,"remote_host":"127.0.0.1","remote_port":53290,"session_id":"6b08ce5f.46bf","line_num":4,"ps":"startup","session_start":"2026-11-27 00:27:11 UTC","vxid":"3/14","txid":0,"error_severity":"FATAL","state_code":"42501","message":"must be superuser or replication role to start walsender","backend_type":"walsender","query_id":0}
{"timestamp":"2026-11-27 00:27:11.167 UTC","pid":18113,"remote_host":"[local]","session_id":"6b08ce5f.46c1","line_num":1,"ps":"","session_start":"2026-11-27 00:27:11 UTC","txid":0,"error_severity":"LOG","message":"connection received: host=[local]","backend_type":"not initialized","query_id":0}
{"timestamp":"2026-11-27 00:27:11.167 UTC","user":"postgres","dbname":"shop","pid":18113,"remote_host":"[local]","session_id":"6b08ce5f.46c1","line_num":2,"ps":"authentication","session_start":"2026-11-27 00:27:11 UTC","vxid":"3/15","txid":0,"error_severity":"LOG","message":"connection authorized: user=postgres database=shop application_name=psql","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:27:11.168 UTC","user":"postgres","dbname":"shop","pid":18113,"remote_host":"[local]","session_id":"6b08ce5f.46c1","line_num":3,"ps":"SELECT","session_start":"2026-11-27 00:27:11 UTC","vxid":"3/16","txid":0,"error_severity":"LOG","message":"AUDIT: SESSION,1,1,READ,SELECT,,,select 1 as superuser_over_socket,<not logged>,1","application_name":"psql","backend_type":"client backend","query_id":0}
{"timestamp":"2026-11-27 00:27:11.169 UTC","user":"postgres","dbname":"shop","pid":18113,"remote_host":"[local]","session_id":"6b08ce5f.46c1","line_num":4,"ps":"idle","session_start":"2026-11-27 00:27:11 UTC","txid":0,"error_severity":"LOG","message":"disconnection: session time: 0:00:00.002 user=postgres database=shop host=[local]","application_name":"psql","backend_type":"client backend","query_id":0}
'''[1:]

STDERR_LOGINS = r'''
2026-11-27 00:27:12.775 UTC [18156] session=6b08ce60.46ec line=1 client=[local] user=[unknown] db=[unknown] app=[unknown] cmd= state=00000 LOG:  connection received: host=[local]
2026-11-27 00:27:12.775 UTC [18156] session=6b08ce60.46ec line=2 client=[local] user=ghost db=shop app=[unknown] cmd=authentication state=00000 LOG:  connection authorized: user=ghost database=shop application_name=psql
2026-11-27 00:27:12.775 UTC [18156] session=6b08ce60.46ec line=3 client=[local] user=ghost db=shop app=[unknown] cmd=startup state=28000 FATAL:  role "ghost" does not exist
2026-11-27 00:27:12.783 UTC [18158] session=6b08ce60.46ee line=1 client=127.0.0.1 user=[unknown] db=[unknown] app=[unknown] cmd= state=00000 LOG:  connection received: host=127.0.0.1 port=45810
2026-11-27 00:27:12.789 UTC [18158] session=6b08ce60.46ee line=2 client=127.0.0.1 user=alice db=shop app=[unknown] cmd=authentication state=00000 LOG:  connection authenticated: identity="alice" method=scram-sha-256 (/tmp/parasol-pg-xt477x7h/data/pg_hba.conf:2)
2026-11-27 00:27:12.789 UTC [18158] session=6b08ce60.46ee line=3 client=127.0.0.1 user=alice db=shop app=[unknown] cmd=authentication state=00000 LOG:  replication connection authorized: user=alice application_name=psql
2026-11-27 00:27:12.789 UTC [18158] session=6b08ce60.46ee line=4 client=127.0.0.1 user=alice db=shop app=[unknown] cmd=startup state=42501 FATAL:  must be superuser or replication role to start walsender
2026-11-27 00:27:12.798 UTC [18160] session=6b08ce60.46f0 line=1 client=[local] user=[unknown] db=[unknown] app=[unknown] cmd= state=00000 LOG:  connection received: host=[local]
2026-11-27 00:27:12.799 UTC [18160] session=6b08ce60.46f0 line=2 client=[local] user=postgres db=shop app=[unknown] cmd=authentication state=00000 LOG:  connection authorized: user=postgres database=shop application_name=psql
2026-11-27 00:27:12.800 UTC [18160] session=6b08ce60.46f0 line=3 client=[local] user=postgres db=shop app=psql cmd=SELECT state=00000 LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,select 1 as superuser_over_socket,<not logged>,1
2026-11-27 00:27:12.800 UTC [18160] session=6b08ce60.46f0 line=4 client=[local] user=postgres db=shop app=psql cmd=idle state=00000 LOG:  disconnection: session time: 0:00:00.002 user=postgres database=shop host=[local]
'''[1:]
# fmt: on

SAMPLES = {
    "jsonlog": (JSONLOG, None),
    "csvlog": (CSVLOG, None),
    "stderr": (STDERR, "Europe/Berlin"),
}
# The alice session's and the failed logins' ids in each sample (session ids differ per server).
ALICE_SESSION = {"jsonlog": "6b08cd24.32c0", "csvlog": "6b08cd26.3311", "stderr": "6b08cd28.3377"}
# Time of alice's CREATE TABLE (first AUDIT line) in UTC: the zones are UTC, +08 and CET.
CREATE_TS = {
    "jsonlog": "2026-11-27T00:21:56.228Z",
    "csvlog": "2026-11-27T00:21:58.148Z",
    "stderr": "2026-11-27T00:22:00.205Z",
}

INSERT_QUOTES = "INSERT INTO customers VALUES (3, 'O''Neil, \"Jr\"', 'jr@example.com');"
SELECT_MULTILINE = "SELECT id, name\n  FROM customers\n WHERE name LIKE '%O''Neil, \"%';"


def lines(text: str, start: int = 0) -> list[Line]:
    """Text → the tailer's Lines (newline stripped, byte offsets)."""
    out, off = [], start
    for raw in text.encode().split(b"\n"):
        out.append(Line(raw, off, off + len(raw) + 1))
        off += len(raw) + 1
    return out


def parse(text: str, fmt: str = "auto", tz: str | None = None, **kw) -> list:
    p = PgAuditParser(SourceOptions(instance="pg1", tz=tz), fmt, **kw)
    out = []
    for ln in lines(text):
        out += p.feed(ln)
    out += p.flush()
    assert p.pending_offset() is None
    return out


def events(outputs: list) -> list[dict]:
    assert [o for o in outputs if isinstance(o, Unparseable)] == []
    evs = [o.event for o in outputs if isinstance(o, Emitted)]
    for e in evs:
        normalize_db(e)  # the contract validator must accept every event
    return evs


def by_statement(evs: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for e in evs:
        if e["event"]["action"] == "query":
            assert e["db"]["statement"] not in out, e["db"]["statement"]
            out[e["db"]["statement"]] = e
    return out


# --- the same session in the three log forms -----------------------------------------------------


@pytest.fixture(params=sorted(SAMPLES))
def fmt(request) -> str:
    return request.param


def test_one_event_per_statement(fmt):
    text, tz = SAMPLES[fmt]
    evs = events(parse(text, fmt, tz))
    stmts = by_statement(evs)
    assert list(stmts) == [
        "CREATE TABLE customers (id int PRIMARY KEY, name text, email text);",
        "INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', 'bob@example.com');",
        INSERT_QUOTES,
        SELECT_MULTILINE,
        "UPDATE customers SET email = 'ann@new.example' WHERE id = 1;",
        "DELETE FROM customers WHERE id = 2;",
        "GRANT SELECT, INSERT ON customers TO bob;",
        (
            "CREATE FUNCTION risky(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO customers "
            "VALUES (i, 'r', 'r'); RETURN 1 / (i - i); END $$;"
        ),
        "SELECT risky(42);",
        "SELECT 1 / 0 AS boom;",
    ]
    sess = ALICE_SESSION[fmt]
    for e in stmts.values():
        assert e["user"] == {"name": "alice"}
        assert e["service"] == {"name": "shop-app"}
        assert e["source"] == {"ip": "127.0.0.1"}
        assert e["session"] == {"id": sess}
        assert (
            e["db"]["system"] == "postgresql"
            and e["db"]["instance"] == "pg1"
            and e["db"]["name"] == "shop"
        )
        assert e["event"]["module"] == "pgaudit" and e["event"]["action"] == "query"
        assert None not in e["db"].values()

    create = stmts["CREATE TABLE customers (id int PRIMARY KEY, name text, email text);"]
    assert create["@timestamp"] == CREATE_TS[fmt]
    # Two pgaudit lines (the table and its primary key index) → one event.
    assert create["db"]["objects"] == ["public.customers", "public.customers_pkey"]
    assert create["db"]["operation"] == "CREATE TABLE"
    assert create["db"]["audit"] == {"statement_id": 1, "class": ["DDL"]}
    assert create["db"]["rows"] == 0
    assert create["event"]["id"] == stable_id("pgaudit", "pg1", sess, 1)

    insert = stmts[INSERT_QUOTES]
    assert insert["db"]["operation"] == "INSERT" and insert["db"]["rows"] == 1
    assert insert["db"]["objects"] == ["public.customers"] and insert["db"]["audit"]["class"] == [
        "WRITE"
    ]
    select = stmts[SELECT_MULTILINE]
    assert select["db"]["operation"] == "SELECT" and select["db"]["audit"]["class"] == ["READ"]
    grant = stmts["GRANT SELECT, INSERT ON customers TO bob;"]
    assert (
        grant["db"]["operation"] == "GRANT" and "objects" not in grant["db"]
    )  # pgaudit names none
    assert grant["db"]["audit"]["class"] == ["ROLE"]
    assert all(
        e["event"]["outcome"] == "success"
        for s, e in stmts.items()
        if s[:8] != "SELECT r" and "/ 0" not in s
    )


def test_failures(fmt):
    text, tz = SAMPLES[fmt]
    stmts = by_statement(events(parse(text, fmt, tz)))
    sess = ALICE_SESSION[fmt]
    # The function call is logged before it runs: the ERROR that follows fails that event.
    risky = stmts["SELECT risky(42);"]
    assert risky["event"]["outcome"] == "failure"
    assert risky["db"]["error"] == "division by zero"
    assert risky["db"]["objects"] == ["public.risky", "public.customers"]
    assert risky["db"]["audit"] == {"statement_id": 9, "class": ["FUNCTION", "WRITE"]}
    assert risky["db"]["operation"] == "EXECUTE"
    assert risky["event"]["id"] == stable_id("pgaudit", "pg1", sess, 9)
    # Failed during execution: no AUDIT line (log_rows logs at executor end), only the ERROR.
    boom = stmts["SELECT 1 / 0 AS boom;"]
    assert boom["event"]["outcome"] == "failure" and boom["db"]["error"] == "division by zero"
    assert boom["db"]["operation"] == "SELECT"  # from the process status (ps / %i)
    assert "audit" not in boom["db"]
    assert boom["event"]["id"] == stable_id(
        "pgaudit", "pg1", sess, "error", 16 if fmt != "stderr" else 18
    )


def test_logins_logouts(fmt):
    text, tz = SAMPLES[fmt]
    evs = events(parse(text, fmt, tz))
    logins = [e for e in evs if e["event"]["action"] == "login"]
    assert [(e["user"]["name"], e["event"]["outcome"], e["db"]["name"]) for e in logins] == [
        ("alice", "success", "shop"),
        *([("bob", "failure", "shop")] if fmt != "stderr" else []),  # not in the stderr excerpt
        ("mallory", "failure", "shop"),
        ("alice", "failure", "nodb"),  # authorized, then FATAL: one failure, no success
    ]
    assert logins[0]["service"] == {"name": "shop-app"}
    assert logins[0]["event"]["id"] == stable_id("pgaudit", "pg1", ALICE_SESSION[fmt], "login")
    mallory = next(e for e in logins if e["user"]["name"] == "mallory")
    # The DETAIL (hidden from the client) says why; the pg_hba line is left out.
    assert (
        mallory["db"]["error"]
        == 'password authentication failed for user "mallory": Role "mallory" does not exist.'
    )
    nodb = logins[-1]
    assert nodb["db"]["error"] == 'database "nodb" does not exist'
    logouts = [e for e in evs if e["event"]["action"] == "logout"]
    assert len(logouts) == 1 and logouts[0]["user"]["name"] == "alice"
    assert logouts[0]["db"]["duration_ms"] == {"jsonlog": 14.0, "csvlog": 22.0, "stderr": 37.0}[fmt]
    assert logouts[0]["event"]["id"] == stable_id("pgaudit", "pg1", ALICE_SESSION[fmt], "logout")


@pytest.mark.parametrize("text", [JSON_LOGINS, STDERR_LOGINS], ids=["jsonlog", "stderr"])
def test_refused_logins_and_local_sessions(text):
    evs = events(parse(text))
    summary = [
        (
            e["event"]["action"],
            e["event"]["outcome"],
            e["user"]["name"],
            e.get("source", {}).get("ip"),
        )
        for e in evs
    ]
    assert summary == [
        ("login", "failure", "ghost", None),  # trust auth: authorized, then FATAL in startup
        ("login", "failure", "alice", "127.0.0.1"),  # replication login (walsender) refused
        ("login", "success", "postgres", None),  # "[local]": no source.ip
        ("query", "success", "postgres", None),
        ("logout", "success", "postgres", None),
    ]
    assert evs[0]["db"]["error"] == 'role "ghost" does not exist'
    assert evs[1]["db"]["error"] == "must be superuser or replication role to start walsender"
    assert evs[3]["db"]["statement"] == "select 1 as superuser_over_socket"


def test_auto_detection_and_determinism(fmt):
    text, tz = SAMPLES[fmt]
    first = events(parse(text, fmt, tz))
    assert events(parse(text, "auto", tz)) == first
    assert events(parse(text, fmt, tz)) == first  # same lines, same ids
    ids = [e["event"]["id"] for e in first]
    assert len(set(ids)) == len(ids)


def test_pending_offset_never_passes_an_unemitted_event(fmt):
    """Checkpoint safety: while an event's first line is fed but the event is not out yet, the
    parser's pending_offset() is at or before that line."""
    text, tz = SAMPLES[fmt]
    p = PgAuditParser(SourceOptions(tz=tz), fmt)
    pend, emitted_at = [], []
    ls = lines(text)
    for i, ln in enumerate(ls):
        for o in p.feed(ln):
            emitted_at.append((i, o.offset))
        pend.append(p.pending_offset())
    for o in p.flush():
        emitted_at.append((len(ls), o.offset))
    assert p.pending_offset() is None
    assert emitted_at
    for step, off in emitted_at:
        for t in range(step):
            if ls[t].offset >= off:  # the event's first line had been fed at step t
                assert pend[t] is not None and pend[t] <= off, (t, step, off, pend[t])


def test_pending_offset_steps_jsonlog():
    ls = lines(JSONLOG)
    p = PgAuditParser(SourceOptions(), "jsonlog")
    auth = next(
        i
        for i, ln in enumerate(ls)
        if b"connection authorized: user=alice database=shop" in ln.data
    )
    create = auth + 1
    assert b"CREATE TABLE" in ls[create].data
    for ln in ls[:auth]:
        assert p.feed(ln) == []
    assert p.pending_offset() is None  # skipped records hold nothing
    assert p.feed(ls[auth]) == [] and p.pending_offset() == ls[auth].offset  # login held
    out = p.feed(ls[create])
    assert [o.event["event"]["action"] for o in out] == ["login"] and out[0].offset == ls[
        auth
    ].offset
    assert p.pending_offset() == ls[create].offset
    assert p.feed(ls[create + 1]) == []  # the index line: same statement
    assert p.pending_offset() == ls[create].offset
    out = p.feed(ls[create + 2])  # next statement: CREATE TABLE goes out
    assert len(out) == 1 and out[0].offset == ls[create].offset
    assert p.pending_offset() == ls[create + 2].offset


def test_csv_record_over_several_lines():
    ls = lines(CSVLOG)
    start = next(i for i, ln in enumerate(ls) if b"SESSION,4,1,READ" in ln.data)
    assert ls[start + 1].data == b"  FROM customers"
    p = PgAuditParser(SourceOptions(), "csvlog")
    for ln in ls[: start + 1]:
        p.feed(ln)
    # The previous statement is still held (its session has not moved on yet)…
    assert p.pending_offset() == ls[start - 1].offset
    assert p.feed(ls[start + 1]) == []
    out = p.feed(ls[start + 2])  # …until the multi-line record is complete
    assert [o.event["db"]["statement"] for o in out] == [INSERT_QUOTES]
    assert p.pending_offset() == ls[start].offset  # now the open record's statement is held
    out = p.feed(ls[start + 3])  # next statement: the multi-line SELECT goes out
    assert [o.event["db"]["statement"] for o in out] == [SELECT_MULTILINE]
    assert out[0].offset == ls[start].offset


def test_stderr_record_with_continuations():
    ls = lines(STDERR)
    p = PgAuditParser(SourceOptions(tz="Europe/Berlin"), "stderr")
    first = next(i for i, ln in enumerate(ls) if b"SESSION,4,1,READ" in ln.data)
    assert ls[first + 1].data.startswith(b"\t")
    for ln in ls[: first + 3]:
        p.feed(ln)
    # The record is complete only when the next prefixed line shows up.
    assert p.pending_offset() == ls[first - 1].offset  # the previous statement is still held
    out = p.feed(ls[first + 3])
    assert [o.event["db"]["statement"] for o in out] == [INSERT_QUOTES]
    out = p.feed(ls[first + 4])
    assert [o.event["db"]["statement"] for o in out] == [SELECT_MULTILINE]


def test_view_lines_and_the_question_mark_command():
    # SELECT on a view with log_relation: the view, a "MISC,???" line, and the base table twice.
    stmts = by_statement(events(parse(JSON_VIEW, "jsonlog")))
    e = stmts["SELECT count(*) FROM v;"]
    assert e["db"]["objects"] == ["public.v", "public.customers"]
    assert e["db"]["audit"]["class"] == ["READ"] and e["db"]["operation"] == "SELECT"
    assert e["db"]["rows"] == 1  # the statement's count, not the sum over its four lines


def test_rows_and_parameters_of_nested_and_prepared_statements():
    # pgaudit.log_parameter=on: SELECT g(0) FROM customers runs a function that runs a SELECT.
    evs = [e for e in events(parse(JSON_PARAMS, "jsonlog")) if e["event"]["action"] == "query"]
    assert len(evs) == 3
    g = evs[0]
    assert g["db"]["statement"] == "SELECT g(0) FROM customers;"
    assert g["db"]["operation"] == "SELECT"  # the top-level line, not the function call
    assert g["db"]["rows"] == 2  # top-level statement's rows; the function's inner SELECT had 1
    assert g["db"]["audit"] == {"statement_id": 1, "class": ["FUNCTION", "READ"]}
    assert g["db"]["objects"] == ["public.g", "public.customers"]
    assert "parameters" not in g["db"]  # <none> for the top-level statement
    # EXECUTE of a prepared statement: pgaudit's first line carries the PREPARE text.
    prepare, execute = evs[1], evs[2]
    assert (
        prepare["db"]["statement"]
        == execute["db"]["statement"]
        == "PREPARE p(int) AS SELECT * FROM customers WHERE id=$1;"
    )
    assert prepare["db"]["operation"] == "PREPARE" and prepare["db"]["audit"]["statement_id"] == 1
    assert execute["db"]["operation"] == "SELECT" and execute["db"]["audit"] == {
        "statement_id": 2,
        "class": ["READ", "MISC"],
    }
    assert execute["db"]["parameters"] == ["1"] and execute["db"]["rows"] == 1


def test_log_rows_off_audit_then_error_fails_the_statement():
    # pgaudit.log_rows=off: 9 fields, DML logged before it runs; the ERROR belongs to it.
    evs = events(parse(JSON_ROWS_OFF, "jsonlog"))
    [e] = [e for e in evs if e["event"]["action"] == "query"]
    assert e["db"]["statement"] == "INSERT INTO customers VALUES (1, 'dup', 'd');"
    assert e["event"]["outcome"] == "failure"
    assert e["db"]["error"] == 'duplicate key value violates unique constraint "customers_pkey"'
    assert "rows" not in e["db"] and e["db"]["audit"]["statement_id"] == 1


# --- flush, late lines, bounds -------------------------------------------------------------------


def _alice_lines(fmt: str = "jsonlog") -> list[Line]:
    return lines(SAMPLES[fmt][0])


def test_idle_flush_then_late_error_corrects_the_same_event():
    ls = _alice_lines()
    p = PgAuditParser(SourceOptions(instance="pg1"), "jsonlog")
    call = next(i for i, ln in enumerate(ls) if b"SESSION,9,1,FUNCTION" in ln.data)
    for ln in ls[: call + 1]:
        p.feed(ln)
    flushed = [o.event for o in p.flush()]
    assert (
        flushed[-1]["db"]["statement"] == "SELECT risky(42);"
        and flushed[-1]["event"]["outcome"] == "success"
    )
    assert p.pending_offset() is None
    # More lines of the same statement after the idle flush: the statement resumes.
    assert p.feed(ls[call + 1]) == []
    assert p.pending_offset() == ls[call + 1].offset
    out = p.feed(ls[call + 2])  # the ERROR
    assert len(out) == 1
    e = out[0].event
    assert e["event"]["id"] == flushed[-1]["event"]["id"]  # same id: the sink overwrites
    assert e["event"]["outcome"] == "failure" and e["db"]["objects"] == [
        "public.risky",
        "public.customers",
    ]
    assert out[0].offset == ls[call + 1].offset  # the part not yet emitted starts there

    # Flushed with nothing after it but the ERROR: re-emitted as a failure under the same id.
    p = PgAuditParser(SourceOptions(instance="pg1"), "jsonlog")
    for ln in ls[: call + 2]:
        p.feed(ln)
    first = p.flush()[-1].event
    out = p.feed(ls[call + 2])
    assert [o.event["event"]["id"] for o in out] == [first["event"]["id"]]
    assert out[0].event["event"]["outcome"] == "failure" and out[0].offset == ls[call + 2].offset


def _audit_line(session: str, sid: int, line: int, text: str) -> bytes:
    return (
        '{"timestamp":"2026-11-27 00:21:56.228 UTC","user":"alice","dbname":"shop","pid":1,'
        f'"remote_host":"10.0.0.1","session_id":"{session}","line_num":{line},"ps":"SELECT",'
        '"error_severity":"LOG","message":"AUDIT: SESSION,'
        + f"{sid},1,READ,SELECT,,,{text},<not logged>,1"
        + '","application_name":"app","backend_type":"client backend"}'
    ).encode()


def test_bounded_sessions():
    p = PgAuditParser(SourceOptions(), "jsonlog", max_sessions=2)
    off = 0
    out = []
    for n, s in enumerate(("a.1", "b.2", "c.3")):
        data = _audit_line(s, 1, 4, f"SELECT {n}")
        out += p.feed(Line(data, off, off + len(data) + 1))
        off += len(data) + 1
    # The third session pushed out the oldest held statement; two remain held.
    assert [o.event["session"]["id"] for o in out] == ["a.1"]
    assert p.pending_offset() == len(_audit_line("a.1", 1, 4, "SELECT 0")) + 1
    rest = p.flush()
    assert sorted(o.event["session"]["id"] for o in rest) == ["b.2", "c.3"]
    for o in out + rest:
        normalize_db(o.event)
        assert o.event["source"] == {"ip": "10.0.0.1"}


def test_interleaved_sessions_aggregate_separately():
    a1, b1, a2 = (
        _audit_line("a.1", 1, 4, "SELECT 1"),
        _audit_line("b.2", 1, 4, "SELECT 2"),
        _audit_line("a.1", 2, 5, "SELECT 3"),
    )
    out = parse(b"\n".join((a1, b1, a1, a2)).decode(), "jsonlog")
    assert [(o.event["session"]["id"], o.event["db"]["statement"]) for o in out] == [
        ("a.1", "SELECT 1"),
        ("b.2", "SELECT 2"),
        ("a.1", "SELECT 3"),
    ]


# --- bad input ------------------------------------------------------------------------------------


def test_garbage_is_unparseable_and_parsing_goes_on():
    ls = _alice_lines()
    garbage = [b"not json at all {", b"[1, 2, 3]", b'{"no": "timestamp"}']
    p = PgAuditParser(SourceOptions(), "jsonlog")
    out = []
    for i, ln in enumerate(ls):
        out += p.feed(ln)
        if i < len(garbage):
            out += p.feed(Line(garbage[i], 10_000 + i, 10_001 + i))
    out += p.flush()
    bad = [o for o in out if isinstance(o, Unparseable)]
    assert [(b.raw, b.reason, b.offset) for b in bad] == [
        (g, "bad_json", 10_000 + i) for i, g in enumerate(garbage)
    ]
    assert len(by_statement([o.event for o in out if isinstance(o, Emitted)])) == 10


def test_bad_csv_and_stderr_lines():
    out = parse("hello,world\n" + CSVLOG, "csvlog")
    assert [(o.reason, o.offset) for o in out if isinstance(o, Unparseable)] == [("bad_csv", 0)]
    out = parse("\tan orphan continuation\nrandom words\n" + STDERR, "stderr", "Europe/Berlin")
    assert [(o.reason, o.offset) for o in out if isinstance(o, Unparseable)] == [
        ("unparseable_line", 0),
        ("unparseable_line", 24),
    ]
    assert len([o for o in out if isinstance(o, Emitted)]) == len(
        events(parse(STDERR, "stderr", "Europe/Berlin"))
    )
    # A bad AUDIT payload (wrong field count) is dead-lettered, not guessed at.
    line = _audit_line("a.1", 1, 4, "SELECT 1").replace(b",<not logged>,1", b"")
    [bad] = parse(line.decode(), "jsonlog")
    assert isinstance(bad, Unparseable) and bad.reason == "unparseable_line"


def test_unterminated_csv_quote_is_bounded():
    p = PgAuditParser(SourceOptions(), "csvlog", max_record_bytes=1000)
    first = b'2026-11-27 08:21:58.148 +08,"alice","shop",1,"127.0.0.1:1",6b.1,4,"SELECT",x,,0,LOG,00000,"AUDIT: open'
    assert p.feed(Line(first, 0, len(first) + 1)) == []
    assert p.pending_offset() == 0
    out = []
    off = len(first) + 1
    for _ in range(20):
        out += p.feed(Line(b"x" * 100, off, off + 101))
        off += 101
    # The open record is given up (whole) once it passes the bound; what follows is judged anew.
    assert (out[0].reason, out[0].offset) == ("bad_csv", 0) and out[0].raw.startswith(first)
    assert len(out[0].raw) <= 1000 + 101
    assert all(o.reason == "bad_csv" for o in out)
    # A record cut at the end of a file (rotation, idle) is dead-lettered by flush().
    p = PgAuditParser(SourceOptions(), "csvlog")
    p.feed(Line(first, 0, len(first) + 1))
    [cut] = p.flush()
    assert (cut.reason, cut.offset, cut.raw) == ("bad_csv", 0, first)
    assert p.pending_offset() is None


def test_non_audit_records_are_skipped():
    skipped = [
        (
            '{"timestamp":"2026-11-27 00:21:56.309 UTC","pid":1,"session_id":"6b.1","line_num":1,'
            '"error_severity":"LOG","message":"checkpoint starting: time","backend_type":"checkpointer"}'
        ),
        (
            '{"timestamp":"2026-11-27 00:21:56.309 UTC","user":"a","dbname":"d","pid":2,"session_id":"6b.2",'
            '"line_num":5,"ps":"SELECT","error_severity":"WARNING","message":"something","backend_type":"client backend"}'
        ),
        (
            '{"timestamp":"2026-11-27 00:21:56.309 UTC","user":"a","dbname":"d","pid":2,"session_id":"6b.2",'
            '"line_num":6,"ps":"SELECT","error_severity":"LOG","message":"duration: 1.0 ms","backend_type":"client backend"}'
        ),
        (
            '{"timestamp":"2026-11-27 00:21:56.309 UTC","pid":3,"session_id":"6b.3","line_num":1,'
            '"error_severity":"ERROR","message":"canceling autovacuum task","backend_type":"autovacuum worker"}'
        ),
    ]
    assert parse("\n".join(skipped), "jsonlog") == []


# --- time zones and the prefix ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp, tz, expected",
    [
        ("2026-11-27 00:21:56.228 UTC", None, "2026-11-27T00:21:56.228Z"),
        ("2026-11-27 08:21:56.228 +08", None, "2026-11-27T00:21:56.228Z"),
        ("2026-11-27 02:51:56.2 +0230", None, "2026-11-27T00:21:56.200Z"),
        ("2026-11-26 21:21:56.228 -03", None, "2026-11-27T00:21:56.228Z"),
        ("2026-11-27 01:21:56.228 CET", "Europe/Berlin", "2026-11-27T00:21:56.228Z"),
        ("2026-07-01 02:00:00.000 CEST", "Europe/Berlin", "2026-07-01T00:00:00.000Z"),
        # The hour that happens twice: the abbreviation picks the side of the fold.
        ("2026-10-25 02:30:00.000 CEST", "Europe/Berlin", "2026-10-25T00:30:00.000Z"),
        ("2026-10-25 02:30:00.000 CET", "Europe/Berlin", "2026-10-25T01:30:00.000Z"),
        ("2026-11-27 00:21:56 UTC", None, "2026-11-27T00:21:56.000Z"),
    ],
)
def test_timestamps(stamp, tz, expected):
    p = PgAuditParser(SourceOptions(tz=tz), "jsonlog")
    assert p._timestamp(stamp) == expected


def test_custom_prefix():
    prefix = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%r %c "
    p = PgAuditParser(SourceOptions(), "stderr", log_line_prefix=prefix)
    text = (
        "2026-11-27 00:21:56 UTC [7]: [4-1] user=bob,db=shop,app=cli,client=10.1.2.3(5555) 6b.7 LOG:  "
        "AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<not logged>,1\n"
        "2026-11-27 00:21:57 UTC [7]: [5-1] user=bob,db=shop,app=cli,client=10.1.2.3(5555) 6b.7 ERROR:  "
        'syntax error at or near "SELEC" at character 1\n'
        "2026-11-27 00:21:57 UTC [7]: [6-1] user=bob,db=shop,app=cli,client=10.1.2.3(5555) 6b.7 STATEMENT:  SELEC 2\n"
        "2026-11-27 00:21:58 UTC [9]: [1-1] user=,db=,app=,client= 6b.9 LOG:  checkpoint starting: time"
    )
    out = []
    for ln in lines(text):
        out += p.feed(ln)
    out += p.flush()
    evs = events(out)
    assert [(e["db"]["statement"], e["event"]["outcome"], e["@timestamp"]) for e in evs] == [
        ("SELECT 1", "success", "2026-11-27T00:21:56.000Z"),
        ("SELEC 2", "failure", "2026-11-27T00:21:57.000Z"),
    ]
    assert evs[1]["db"]["error"] == 'syntax error at or near "SELEC"'
    assert evs[0]["source"] == {"ip": "10.1.2.3"} and evs[0]["service"] == {"name": "cli"}
    with pytest.raises(ValueError):
        compile_prefix("%m [%p] ")  # no session id: statements cannot be told apart


def test_documented_prefix_is_the_one_in_the_docstring():
    import connectors.sources.pgaudit as mod

    assert f"log_line_prefix = '{STDERR_PREFIX}'" in mod.__doc__
    with pytest.raises(ValueError):
        PgAuditParser(SourceOptions(), "xml")


@pytest.mark.parametrize(
    "message, user",
    [
        (
            'no pg_hba.conf entry for host "10.0.0.9", user "eve", database "shop", no encryption',
            "eve",
        ),
        ('password authentication failed for user "bob"', "bob"),
        ('role "ghost" does not exist', "ghost"),
        ('database "nodb" does not exist', "alice"),  # the user the record names
        ("terminating connection due to administrator command", None),  # not a login
    ],
)
def test_login_failures_by_message_without_process_status(message, user):
    # A prefix without %i/%e: the message alone says whether a FATAL is a refused login.
    prefix = "%m [%p] %q%c %u@%d "
    line = f"2026-11-27 00:21:56.228 UTC [7] 6b.7 alice@shop FATAL:  {message}"
    out = parse(line, "stderr", log_line_prefix=prefix)
    if user is None:
        assert out == []
        return
    [e] = events(out)
    assert (e["event"]["action"], e["event"]["outcome"], e["user"]["name"]) == (
        "login",
        "failure",
        user,
    )
    assert e["db"]["error"] == message
