"""One module per subcommand: arguments and wiring only (`add_arguments`, `run`).

The queue commands (jobs, enqueue, retry, cancel, cordon, uncordon) never
import Textual: each opens the backend as a light client, does one protocol
call and exits, in a fraction of a second.
"""
