// The words `drupe --help` and `drupe serve --help` print: every flag, the exit codes, the signals.

export const MAIN_USAGE = `Usage: drupe <command> [options]

Commands:
  serve <module>   serve the App (a Tree, or a root object) a module exports by default

Options:
  -h, --help       show this help (drupe serve --help: the serve command's)
  -v, --version    print Drupe's version

Exit codes: 0 stopped cleanly; 1 the server could not start (a port in use, …);
2 bad input (a flag, the module, the config file).
`;

export const SERVE_USAGE = `Usage: drupe serve <module> [options]

Serves the module's default export: an App, a Tree of mounted apps, or a
root object whose path sections come from the config file's [/path] sections. The module is an ES
module node can import itself (.js or .mjs; .ts only where node strips types).

Options:
  --host <host>             address to listen on (server.socket_host; default 127.0.0.1)
  --port <port>             port to listen on, 0-65535 (server.socket_port; default 8080)
  --workers <n|auto>        run n worker processes sharing the port (auto: one per core);
                            crashed workers are restarted, SIGHUP replaces them one at a time
  --config <file>           a config file in CherryPy's format ([global] and [/path] sections);
                            flags override its [global] keys
  --environment <name>      development, production or test (environment)
  --watch                   development: serve from a worker process and restart it when a
                            file under the module's folder changes (node_modules and
                            dot-folders ignored); requests in flight finish
  -h, --help                show this help

Signals: SIGTERM or SIGINT stop gracefully (in-flight requests finish) and exit 0;
SIGHUP re-reads the config file (a bad file is logged and the old config kept)
and, with workers, replaces them one at a time; SIGUSR2 reopens the log files.

Exit codes: 0 stopped cleanly; 1 the server could not start (a port in use, an
address that cannot be bound); 2 bad input: an unknown flag, a missing or extra
argument, a bad --port or --workers value, a module that is missing, fails to
load or has no usable default export, a malformed config file or unknown key.
`;
