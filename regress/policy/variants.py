#!/usr/bin/python3
"""Write small policy variants into DIR, one value changed in each.

    variants.py DIR

Each file is named FIELD-NN.yaml; a list DIR/expect.txt says for each
whether lensctl policy check and the JSON Schema must agree ("agree")
or whether only the parser refuses it ("stricter": what a schema cannot
see, such as number spellings, YAML 1.1 booleans, host bits, reversed
ranges, exact size limits).  regress/policy.t checks both.
"""
import os
import sys

S = "stricter"
T = {
    "http": "version: 1\nnetwork:\n  egress:\n    http:\n"
            "      - match: {v}\n        verdict: allow\n",
    "tcp": "version: 1\nnetwork:\n  egress:\n    tcp:\n"
           "      - match: {v}\n        verdict: allow\n",
    "udp": "version: 1\nnetwork:\n  egress:\n    udp:\n"
           "      - {{match: {v}, verdict: deny}}\n",
    "pub": "version: 1\nnetwork:\n  publish:\n    - {v}\n",
    "verdict": "version: 1\nnetwork:\n  defaultVerdict: {v}\n",
    "tls": "version: 1\nnetwork:\n  egress:\n    http:\n"
           "      - {{match: a.test, verdict: allow, tlsTerminate: {v}}}\n",
    "cpus": "version: 1\nresources:\n  cpus: {v}\n",
    "mem": "version: 1\nresources:\n  memory: {v}\n",
    "pids": "version: 1\nresources:\n  pids: {v}\n",
    "ver": "version: {v}\n",
    "path": "version: 1\nnetwork:\n  egress:\n    http:\n"
            "      - {{match: a.test, verdict: allow, rules: "
            "[{{method: GET, path: {v}, verdict: deny}}]}}\n",
    "method": "version: 1\nnetwork:\n  egress:\n    http:\n"
              "      - {{match: a.test, verdict: allow, rules: "
              "[{{method: {v}, path: /, verdict: deny}}]}}\n",
    "cafile": "version: 1\nnetwork:\n  egress:\n    http:\n"
              "      - {{match: a.test, verdict: allow, caFile: {v}}}\n",
    "query": "version: 1\nnetwork:\n  egress:\n    http:\n"
             "      - {{match: a.test, verdict: allow, rules: "
             "[{{method: GET, path: /, query: {v}, verdict: deny}}]}}\n",
    "ws": "version: 1\nnetwork:\n  egress:\n    http:\n"
          "      - {{match: a.test, verdict: allow, rules: "
          "[{{method: GET, path: /, websocket: {v}, verdict: allow}}]}}\n",
    "gql": "version: 1\nnetwork:\n  egress:\n    http:\n"
           "      - {{match: a.test, verdict: allow, rules: "
           "[{{method: POST, path: /, verdict: allow, graphql: {v}}}]}}\n",
    "mcp": "version: 1\nnetwork:\n  egress:\n    http:\n"
           "      - {{match: a.test, verdict: allow, rules: "
           "[{{method: POST, path: /, verdict: allow, mcp: {v}}}]}}\n",
    "credid": "version: 1\ncredentials:\n  - {{id: {v}, envVar: A, "
              "injections: [{{type: awsSigv4, host: a.test, region: r, service: s}}]}}\n",
    "env": "version: 1\ncredentials:\n  - {{id: a, envVar: {v}, "
           "injections: [{{type: awsSigv4, host: a.test, region: r, service: s}}]}}\n",
    "injtype": "version: 1\ncredentials:\n  - {{id: a, envVar: A, "
               "injections: [{v}]}}\n",
    "injname": "version: 1\ncredentials:\n  - {{id: a, envVar: A, "
               "injections: [{{type: header, host: a.test, name: {v}, "
               "value: '{{secret}}'}}]}}\n",
    "injval": "version: 1\ncredentials:\n  - {{id: a, envVar: A, "
              "injections: [{{type: header, host: a.test, name: X, "
              "value: {v}}}]}}\n",
    "injhost": "version: 1\ncredentials:\n  - {{id: a, envVar: A, "
               "injections: [{{type: awsSigv4, host: {v}, region: r, service: s}}]}}\n",
    "top": "{v}\n",
}
V = {
    "http": ["a.test", "A.TEST.", "'*.a.test'", "'*.a.test:443'",
             "a.test:0", "a.test:65536", "a.test:01", "'*'", "'*.'",
             "a..test", "-a.test", "a_b.test", "1.2.3.4", "'[::1]'",
             "'a.test:'", "''", "~", "123", "'123'", "a" * 64 + ".test",
             "a" * 63 + ".test", "a.test..", "'.a.test'", "'a.test:80:80'",
             "'a test'", "true", "'\u00e4.test'", "'a.test:65535'",
             "'*.*.a.test'", "[a.test]"],
    "tcp": ["'a.test:1'", "'a.test:*'", "'a.test:1-2'",
            ("'a.test:2-1'", S), "'a.test:0'", "'a.test:1-65536'",
            "'1.2.3.4:1'", ("'1.2.3.4/8:1'", S), "'1.0.0.0/8:1'",
            "'1.2.3:1'", "'1.2.3.4/33:1'", "'[::1]:1'", "'[::/0]:*'",
            "'[1.2.3.4]:1'", ("'[:::]:1'", S), "'[2001:db8::/129]:1'",
            "'[2001:db8::/32]'", "'*:1'", "'*.a:1'", "'01.2.3.4:1'",
            "'1.2.3.4/08:1'", "'1.2.3.4.:1'", "'a.test:01'",
            "'a.test:-1'", "'a.test'", "'[::1]:'", "'10.0.0.0/8:1-'",
            "'0.0.0.0/0:1-65535'", "'2001:db8::1:443'", "'a.test:1:2'"],
    "udp": ["'ntp.test:123'", "'[fd00::/8]:53'", "'10.0.0.0/8:*'",
            "'ntp.test'", "'*:53'"],
    "pub": ["'80:80'", "'0:80'", "'80:0'", "'1.2.3.4:80:80'",
            "'[::1]:80:80'", "'[::1]:80'", "'80:80/tcp'", "'80:80/udp'",
            "'80:80/'", "'01:80'", "'1.2.3:80:80'", "'256.1.1.1:80:80'",
            "'[1.2.3.4]:80:80'", "'[::g]:80:80'", "80", "'80'",
            "'a:80:80'", ("'[:::]:80:80'", S), "8080:30", "8080:80",
            "'65535:65535'", "'65536:1'"],
    "verdict": ["allow", "deny", "ask", "Allow", "'allow'", "no", "~",
                "''", "[allow]", "'deny '"],
    "tls": ["true", "false", "True", "FALSE", ("yes", S), ("no", S),
            ("on", S), "1", "'true'", "~", "tRue"],
    "cpus": ["1", "0", "0.001", "0.0009", ("0.0015", S), "1024", "1024.0",
             "1024.0001", "1025", ".5", "1.", "-1", "1e3", ("1.0e+3", S),
             "'1'", ("01", S), ("1_0", S), ("0x10", S), ("1:30", S), "~",
             ".inf", (".nan", S), "0.0", ("00.5", S), ("2.5000001", S),
             "[1]", "true"],
    "mem": ["4194304", "4194303", "512m", "512M", ("1k", S), "4096k",
            ("4095k", S), ("3m", S), "4m", "1g", "1024g", "1025g", "2t",
            "1024TiB", ("1025t", S), "2GiB", ("7b", S), ("4kib", S), "2tb",
            "'4194304'", ("'1048576'", S), "1048576", "0",
            "-1", "512mb", "0512m", "1t", "1.5g", "1099511627776",
            "1099511627777", "1125899906842624", "1125899906842625",
            "'512m'", "99999999999999999999", ("99999999999999999999t", S),
            ("0x400000", S), ("4_194_304", S), "''", "~", "'1 m'"],
    "pids": ["1", "0", "4194304", "4194305", "-1", "'1'", ("1.0", S),
             ("01", S), ("0x10", S), ("1_0", S), "~", "true", "1.5"],
    "ver": ["1", "2", "'1'", ("1.0", S), ("0x1", S), ("01", S), "true",
            "~", "[1]", ("+1", S), "0"],
    "path": ["/", "'/a/**'", "a", "'/***'", "'/a b'", "'/\u00e4'",
             "'/**/x/*'", "''", "\"/a\\tb\"", "\"/\\x7f\"", "~",
             "'/' ", "\"/\\0\"", "/" + "a" * 1023, "/" + "a" * 1024,
             "'/a/../b'", "'//a'", "'/a/./b'", "'/a/.'", "'/a/..'",
             "'/a?b'", "'/a#b'", "'/%2E'", "'/%2e'", "'/%20'", "'/a;x'",
             "'/..;/a'", "'/a/'", "'/%C0%AE'", "'/a%2Fb'", "'/a%25'",
             "'/a%252E'", "'/a%'", "'/a%4'", "'/a\\b'", "'/a%5C'",
             "'/...'", "'/a.b/c..d'"],
    "cafile": ["a.pem", "'A_b-c.1'", "'../a'", "'/etc/x'", "'a..b'",
               "'.a'", "'-a'", "a" * 128, "a" * 129, "''", "~", "true",
               "'a b'", "1", "'1'", "[a]", "'a/b'", "'a.'"],
    "query": ["'q=*'", "''", "'**'", "'a=1&b=*'", "'a#b'", "'a b'",
              "'%7E'", "'%2F'", "'%2f'", "'%zz'", "'%'", "'***'", "~",
              "true", "'a\\b'", "'a=%00'", "'x=%252F'", "'/?/'",
              "'x=%25'", "'q=%C1'", "'&&'", "1", "'q' ", "x" * 1024,
              "x" * 1025],
    "ws": ["true", "false", "True", ("yes", S), ("off", S), "'true'",
           "1", "~", "[true]"],
    "method": ["GET", "get", "'*'", "FOO", "POST", "~", "''", "DELETE",
               "TRACE"],
    "gql": ["{operations: [query]}", "{operations: [query, mutation, "
            "subscription]}", "{operations: [Query]}", "{operations: []}",
            "{}", "~", "{operations: [query, query]}",
            "{operationNames: ['Get*', '*']}", "{operationNames: ['1a']}",
            "{operationNames: ['a-b']}", "{fields: [viewer, __typename]}",
            "{fields: ['']}", "{fields: [a, a]}", "{foo: [a]}",
            "{fields: viewer}", "[query]", "{fields: [" + "a" * 128 + "]}",
            "{fields: [" + "a" * 129 + "]}", "{operations: query}",
            "{operationNames: [~]}", "{fields: [1]}", "{fields: ['a b']}"],
    "mcp": ["[{method: tools/call}]", "[{method: '**', tool: 'read_*', "
            "uri: 'file:///**'}]", "[]", "~", "{method: tools/call}",
            "[{tool: a}]", "[{method: ''}]", "[{method: 'a***'}]",
            "[{method: 1}]", "[{method: a, name: b}]",
            "[{method: a, arguments: []}]",
            "[{method: a, arguments: [{pointer: /a, glob: '*'}]}]",
            "[{method: a, arguments: [{pointer: a, glob: '*'}]}]",
            "[{method: a, arguments: [{pointer: /a~2, glob: '*'}]}]",
            "[{method: a, arguments: [{pointer: '/a~0~1/0'}]}]",
            "[{method: a, arguments: [{pointer: '/a~0~1/0', glob: x}]}]",
            "[{method: '" + "a" * 1024 + "'}]",
            "[{method: '" + "a" * 1025 + "'}]"],
    "credid": ["a", "A-b.c_1", "-a", "'.a'", "''", "a" * 64, "a" * 65,
               "1", "'1'", "'a b'", "yes"],
    "env": ["A", "_a1", "1A", "'A-B'", "''", "A" * 128, "A" * 129, "on"],
    "injtype": ["{type: header, host: a.test, name: X, value: '{secret}'}",
                "{type: header, host: a.test, value: '{secret}'}",
                "{type: header, host: a.test, name: X}",
                "{type: query, host: a.test, name: k, value: '{secret}'}",
                "{type: query, host: a.test, name: k}",
                "{type: basic, host: a.test}",
                "{type: basic, host: a.test, user: robot}",
                "{type: basic, host: a.test, value: 'u:{secret}'}",
                "{type: basic, host: a.test, user: 'a:b'}",
                "{type: basic, host: a.test, user: 'a b'}",
                "{type: basic, host: a.test, user: ''}",
                "{type: basic, host: a.test, user: %s}" % ("u" * 127),
                "{type: basic, host: a.test, user: %s}" % ("u" * 128),
                "{type: hmac, host: a.test}",
                "{type: hmac, host: a.test, name: X-Sig}",
                "{type: hmac, host: a.test, name: X-Sig, user: u}",
                "{type: awsSigv4, host: a.test, name: X, value: '{secret}'}",
                "{type: awsSigv4, host: a.test, region: us-east-1}",
                "{type: awsSigv4, host: a.test, service: s3}",
                "{type: awsSigv4, host: a.test, region: us-east-1, "
                "service: s3}",
                "{type: awsSigv4, host: a.test, region: US-EAST-1, "
                "service: s3}",
                "{type: awsSigv4, host: a.test, region: 'eu_1', "
                "service: s3}",
                "{type: awsSigv4, host: a.test, region: %s, service: s3}"
                % ("r" * 63),
                "{type: awsSigv4, host: a.test, region: %s, service: s3}"
                % ("r" * 64),
                "{type: sigv4, host: a.test}",
                "{type: oauth2Refresh, host: a.test}",
                "{type: oauth2Refresh, host: a.test, "
                "tokenUrl: 'https://t.test/token'}",
                "{type: oauth2Refresh, host: a.test, "
                "tokenUrl: 'https://t.test:8443/o/token?x=1', clientId: c1}",
                "{type: oauth2Refresh, host: a.test, "
                "tokenUrl: 'http://t.test/token'}",
                "{type: oauth2Refresh, host: a.test, "
                "tokenUrl: 'https://t.test'}",
                ("{type: oauth2Refresh, host: a.test, "
                 "tokenUrl: 'https://u@t.test/token'}"),
                ("{type: oauth2Refresh, host: a.test, "
                 "tokenUrl: 'https://t.test:0/token'}"),
                ("{type: oauth2Refresh, host: a.test, "
                 "tokenUrl: 'https://t.test/a b'}"),
                ("{type: oauth2Refresh, host: a.test, "
                 "tokenUrl: 'https://t.test/t#f'}"),
                ("{type: oauth2Refresh, host: a.test, "
                 "tokenUrl: 'https://t..test/t'}"),
                "{type: oauth2Refresh, host: a.test, "
                "tokenUrl: 'https://t.test/token', clientId: 'a b'}",
                "{type: oauth2Refresh, host: a.test, clientId: c1}",
                "{type: oauth2Refresh, host: a.test, "
                "tokenUrl: 'https://t.test/token', name: X}",
                "{type: uriPlaceholder, host: a.test}",
                "{type: uriPlaceholder, host: a.test, value: '{secret}'}",
                "{type: oauth2}", "{type: oauth2Refresh}", "{host: a.test}",
                "{type: uriPlaceholder, host: a.test, extra: 1}",
                "{type: Header, host: a.test, name: X, value: '{secret}'}"],
    "injname": ["X", "Authorization", "'k=v'", "'a b'", "''",
                "'X!#$%&*+.^_`|~-'", "1", "x" * 127, "x" * 128],
    "injval": ["'{secret}'", "'Bearer {secret}'", "'{secre}'",
               "\"a\\n{secret}\"", "\"a\\r{secret}\"", "''",
               "\"{secret}\\0\"", "'\u00e9{secret}'"],
    "injhost": ["a.test", "'*.a.test'", "'a.test:443'", "'*'", "'a test'",
                "1.2.3.4", "'a.test:0'"],
    "top": ["version: 1", "", "[]", "version: 1\nnetwork: ~",
            "version: 1\nnetwork: []", "version: 1\nnetwork: {egress: ~}",
            "version: 1\nnetwork: {egress: {http: {}}}",
            "version: 1\nnetwork: {publish: ~}",
            "version: 1\ncredentials: {}", "version: 1\nresources: []",
            "version: 1\nresources: ~", "version: 1\nVersion: 1",
            "version: 1\n'network': {}", "'version': 1",
            "version: 1\nnetwork: {egress: {http: [~]}}",
            "version: 1\nnetwork: {egress: {http: [{match: a.test}]}}",
            "version: 1\nnetwork: {egress: {http: [{verdict: deny}]}}",
            "version: 1\nnetwork: {egress: {tcp: [{match: 'a:1', "
            "verdict: deny, tlsTerminate: true}]}}",
            "version: 1\nnetwork: {egress: {http: [{match: a.test, "
            "verdict: deny, rules: [{path: /, verdict: deny}]}]}}",
            "version: 1\ncredentials: [{id: a, envVar: A}]",
            "version: 1\ncredentials: [{id: a, envVar: A, injections: []}]",
            ("version: 1\ncredentials: [{id: a, envVar: A, injections: "
             "[{type: awsSigv4, host: a.test, region: r, service: s}]}, {id: b, envVar: A, "
             "injections: [{type: awsSigv4, host: a.test, region: r, service: s}]}]", S)],
}


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "expect.txt"), "w") as ex:
        for k, vs in V.items():
            for i, v in enumerate(vs):
                want = "agree"
                if isinstance(v, tuple):
                    v, want = v
                name = "%s-%02d.yaml" % (k, i)
                with open(os.path.join(d, name), "w",
                          encoding="utf-8") as f:
                    f.write(T[k].format(v=v))
                ex.write("%s %s\n" % (name, want))


if __name__ == "__main__":
    main()
