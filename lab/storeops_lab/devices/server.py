"""The FakeNOS plugins that put an emulated device behind SSH.

FakeNOS splits a fake device into a *server* plugin (SSH, ``ParamikoSshServer``), a *shell*
plugin (the command loop, ``CMDShell``, a :class:`cmd.Cmd`) and a *NOS* (``Nos``: a dict of
exact command strings -> canned output, plus an optional ``device`` object). A NOS plugin
cannot keep a configuration: its lookup is by exact string, an unknown command can only get
one fixed answer, and only canned commands can change the prompt. So the state lives in a
:class:`~storeops_lab.devices.device.Device` hung on ``Nos.device`` (where FakeNOS's own
Python platforms keep theirs), and two subclassed plugins use it:

- :class:`DeviceShell` (a ``CMDShell``): every typed line goes to the device's CLI session;
  the prompt comes from the session (mode, view, current hostname);
- :class:`DeviceSshServer` (a ``ParamikoSshServer``): FakeNOS's accept loop, host key,
  session tracking and shutdown, with its own per-connection function. The stock one moves
  input one byte at a time with a 10 ms sleep per byte (measured: 60 config lines, 2,070
  bytes, took 22.7 s through netmiko), and echoes password answers. This one reads the
  channel in blocks, echoes a line when the shell reads it (not for passwords), checks
  logins against the device's configuration, and binds 127.0.0.1 only (no SO_REUSEPORT:
  a port in use is an error, not a silently shared port). A connection the device would
  not answer (its management path is gone, or it is booting: see
  :mod:`storeops_lab.devices.device`) is closed before the SSH greeting, and a reboot
  closes every open connection.
"""

from __future__ import annotations

import codecs
import logging
import queue
import socket
import threading
from typing import Any

import paramiko
from fakenos.core.nos import Nos
from fakenos.plugins.servers.ssh_server_paramiko import (
    ParamikoSshServer,
)
from fakenos.plugins.shell.cmd_shell import CMDShell
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

from storeops_lab.devices.cli import CTRL_Z, Reply
from storeops_lab.devices.device import Device

log = logging.getLogger(__name__)

ADDRESS = "127.0.0.1"
ACCEPT_TIMEOUT = 0.25  # how often the listener and the readers look at the stop flag
CHANNEL_TIMEOUT = 20.0  # an authenticated client must open its shell channel within this


def make_nos(device: Device) -> Nos:
    """A FakeNOS ``Nos`` with no canned commands, carrying the device."""
    nos = Nos(name=f"storeops-{device.platform.name}", commands={}, initial_prompt="{base_prompt}>")
    nos.device = device
    return nos


class ChannelInput:
    """The shell's stdin: lines read from an SSH channel by a background thread.

    The echo of a line is written when the shell reads it, so that a command's echo, its
    output and the next prompt always come out in that order (netmiko relies on it). A
    Ctrl-Z byte ends a line at once, as on the devices; backspace edits the line.
    """

    def __init__(self, channel: paramiko.Channel, running: threading.Event) -> None:
        self.channel = channel
        self.running = running
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer: list[str] = []
        self._after_cr = False
        self._thread = threading.Thread(
            target=self._read, name="device-channel-reader", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def _read(self) -> None:
        try:
            while self.running.is_set():
                data = self.channel.recv(4096)  # returns b"" once the transport is closed
                if not data:
                    break
                self._feed(self._decoder.decode(data))
        except (OSError, EOFError, paramiko.SSHException) as error:
            log.debug("channel reader stopped: %s", error)
        finally:
            self.lines.put(None)

    def _feed(self, text: str) -> None:
        for char in text:
            if char == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = char == "\r"
            if char in "\r\n":
                self.lines.put("".join(self._buffer))
                self._buffer.clear()
            elif char == CTRL_Z:
                self.lines.put("".join(self._buffer) + CTRL_Z if self._buffer else CTRL_Z)
                self._buffer.clear()
            elif char in "\x08\x7f":
                if self._buffer:
                    self._buffer.pop()
            elif char >= " " or char == "\t":
                self._buffer.append(char)

    def readline(self, echo: bool = True) -> str | None:
        """The next line (echoed unless ``echo`` is false), or None once the client is gone."""
        while True:
            try:
                line = self.lines.get(timeout=ACCEPT_TIMEOUT)
                break
            except queue.Empty:
                if not self.running.is_set():
                    return None
        if line is None:
            self.lines.put(None)  # later reads see the end too
            return None
        shown = line.replace(CTRL_Z, "^Z") if echo else ""
        _send(self.channel, shown + "\r\n")
        return line


class ChannelOutput:
    """The shell's stdout: text to the SSH channel with device line ends (CR LF)."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel

    def write(self, text: str) -> None:
        _send(self.channel, text.replace("\r\n", "\n").replace("\n", "\r\n"))

    def flush(self) -> None:
        """Nothing is buffered."""


def _send(channel: paramiko.Channel, text: str) -> None:
    try:
        channel.sendall(text.encode("utf-8"))
    except (OSError, EOFError, paramiko.SSHException) as error:
        log.debug("channel write failed: %s", error)


class DeviceShell(CMDShell):  # type: ignore[misc]
    """A FakeNOS shell plugin that hands every line to the device's CLI session."""

    def __init__(
        self,
        *,
        stdin: ChannelInput,
        stdout: ChannelOutput,
        nos: Nos,
        nos_inventory_config: dict[str, Any],
        base_prompt: str,
        is_running: threading.Event,
        username: str = "",
        **configuration: Any,
    ) -> None:
        super().__init__(
            stdin=stdin,
            stdout=stdout,
            nos=nos,
            nos_inventory_config=nos_inventory_config,
            base_prompt=base_prompt,
            is_running=is_running,
            **configuration,
        )
        self.device: Device = nos.device
        self.session = self.device.open_session(username)
        self.prompt = self.session.prompt
        self.intro = self.session.banner()
        self._stopping = threading.Event()

    def cmdloop(self, intro: str | None = None) -> None:
        """Banner, then prompt / read / run until the session ends or the server stops."""
        if self.intro:
            self.stdout.write(self.intro)
        while not self._stopping.is_set() and self.is_running.is_set():
            self.stdout.write(self.prompt)
            line = self.stdin.readline()
            if line is None or self.onecmd(line):
                break

    def onecmd(self, line: str) -> bool:
        """Run a line; a line ended by Ctrl-Z runs, then Ctrl-Z runs (IOS ``cmd^Z``)."""
        if line.endswith(CTRL_Z) and line != CTRL_Z:
            return self.onecmd(line[:-1]) or self.onecmd(CTRL_Z)
        reply: Reply = self.session.execute(line, self.ask)
        if reply.output:
            self.stdout.write(reply.output)
        self.prompt = self.session.prompt
        return reply.close

    def ask(self, question: str, echo: bool) -> str | None:
        """Print a question (no newline) and read the answer: ``Password:``, ``[Y/N]``."""
        self.stdout.write(question)
        answer: str | None = self.stdin.readline(echo=echo)
        return answer

    def stop(self) -> None:
        self._stopping.set()


class _Login(paramiko.ServerInterface):
    """SSH password logins checked against the device's configured local users."""

    def __init__(self, device: Device) -> None:
        self.device = device

    def check_auth_password(self, username: str, password: str) -> int:
        if self.device.authenticate(username, password):
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(  # noqa: PLR0917 - paramiko's signature
        self,
        channel: paramiko.Channel,
        term: bytes,
        width: int,
        height: int,
        pixelwidth: int,
        pixelheight: int,
        modes: bytes,
    ) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        return True


class DeviceSshServer(ParamikoSshServer):  # type: ignore[misc]
    """FakeNOS's Paramiko server with a block-reading connection function (see module doc)."""

    # Attributes FakeNOS's (untyped) server classes set and this class uses.
    port: int
    nos: Nos
    shell: type[DeviceShell]
    shell_configuration: dict[str, Any]
    nos_inventory_config: dict[str, Any]
    _socket: socket.socket | None
    _is_running: threading.Event
    _listen_thread: threading.Thread | None
    _connection_threads: list[threading.Thread]
    _active_sessions: set[paramiko.Transport]
    _active_sessions_lock: threading.Lock
    _ssh_server_key: paramiko.PKey

    def __init__(self, device: Device, port: int) -> None:
        super().__init__(
            shell=DeviceShell,
            nos=make_nos(device),
            nos_inventory_config={},
            port=port,
            username="",
            password="",
            shell_configuration={"base_prompt": device.name, "intro": ""},
            address=ADDRESS,
            timeout=ACCEPT_TIMEOUT,
            watchdog_interval=ACCEPT_TIMEOUT,
        )
        self.device = device
        device.disconnect_all = self.disconnect_all

    def disconnect_all(self) -> None:
        """Close every open connection (the device rebooted)."""
        with self._active_sessions_lock:
            transports = list(self._active_sessions)
        for transport in transports:
            transport.close()

    def _bind_sockets(self) -> None:
        """Bind 127.0.0.1 and listen (port 0: any free port; ``self.port`` is the one bound).

        FakeNOS calls ``listen()`` in its accept thread, so a client connecting right after
        ``start()`` returns could be refused; listening here closes that window.
        """
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, True)
            listener.settimeout(ACCEPT_TIMEOUT)
            listener.bind((ADDRESS, self.port))
            listener.listen()
        except OSError:
            listener.close()
            raise
        self._socket = listener
        self.port = listener.getsockname()[1]

    @property
    def listening_on(self) -> tuple[str, int] | None:
        """The address and port the server is bound to (None once stopped)."""
        if self._socket is None:
            return None
        host, port = self._socket.getsockname()
        return (str(host), int(port))

    def start(self) -> None:
        """FakeNOS's start, with daemon threads: a device nobody stopped does not keep the
        Python process alive at exit (FakeNOS's own threads are not daemons)."""
        if self._is_running.is_set():
            return
        self._bind_sockets()
        self._is_running.set()
        self._listen_thread = threading.Thread(
            target=self._listen, name=f"device-{self.device.name}-listener", daemon=True
        )
        self._listen_thread.start()

    def _listen(self) -> None:
        listener = self._socket
        while listener is not None and self._is_running.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            worker = threading.Thread(
                target=self.connection_function,
                args=(client, self._is_running),
                name=f"device-{self.device.name}-session",
                daemon=True,
            )
            worker.start()
            self._connection_threads = [t for t in self._connection_threads if t.is_alive()]
            self._connection_threads.append(worker)

    def connection_function(self, client: socket.socket, is_running: threading.Event) -> None:
        # Echo, output and prompt are separate small writes: without TCP_NODELAY, Nagle's
        # algorithm and the client's delayed ACK add ~40 ms to every command.
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self.device.reachable():
            client.close()  # no greeting: the controller sees an unreachable device
            return
        transport = paramiko.Transport(client)
        with self._active_sessions_lock:
            self._active_sessions.add(transport)
        running = threading.Event()
        running.set()
        try:
            self._serve(transport, is_running, running)
        except (OSError, EOFError, paramiko.SSHException) as error:
            log.debug("connection ended: %s", error)
        finally:
            running.clear()
            transport.close()
            with self._active_sessions_lock:
                self._active_sessions.discard(transport)

    def _serve(
        self, transport: paramiko.Transport, is_running: threading.Event, running: threading.Event
    ) -> None:
        transport.local_version = self.device.platform.ssh_version
        transport.add_server_key(self._ssh_server_key)
        transport.start_server(server=_Login(self.device))
        channel = self._accept(transport, is_running)
        if channel is None:
            return
        stdin = ChannelInput(channel, running)
        stdin.start()
        shell = self.shell(
            stdin=stdin,
            stdout=ChannelOutput(channel),
            nos=self.nos,
            nos_inventory_config=self.nos_inventory_config,
            is_running=is_running,
            username=transport.get_username() or "",
            **self.shell_configuration,
        )
        shell.start()
        channel.close()

    def _accept(
        self, transport: paramiko.Transport, is_running: threading.Event
    ) -> paramiko.Channel | None:
        waited = 0.0
        while transport.is_active() and is_running.is_set() and waited < CHANNEL_TIMEOUT:
            channel = transport.accept(timeout=ACCEPT_TIMEOUT)
            if channel is not None:
                return channel
            waited += ACCEPT_TIMEOUT
        return None
