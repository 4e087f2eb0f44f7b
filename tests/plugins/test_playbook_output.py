from __future__ import annotations

from playbook_output import changed_tasks, recap_changed, seconds_by_role

RUN = """
PLAY [Redis servers] ***********************************************************

TASK [redis_server : Users | ACL SETUSER every user] ***************************
Thursday 26 November 2026  13:17:38 +0000 (0:00:00.4)       0:00:10.1 *****
ok: [r1]
changed: [r2]
changed: [r2] => (item=a)
changed: [r2] => (item=b)

TASK [redis_sentinel : Runtime | SENTINEL SET] *********************************
skipping: [r1]
changed: [r3]

RUNNING HANDLER [redis_server : Restart] ***************************************
changed: [r1]

PLAY RECAP *********************************************************************
r1                         : ok=90   changed=1    unreachable=0    failed=0    skipped=30
r2                         : ok=80   changed=1    unreachable=0    failed=0    skipped=28
r3                         : ok=80   changed=0    unreachable=0    failed=0    skipped=28
"""


def test_changed_tasks_name_each_task_and_host_once() -> None:
    assert changed_tasks(RUN) == [
        "redis_server : Users | ACL SETUSER every user on r2",
        "redis_sentinel : Runtime | SENTINEL SET on r3",
        "redis_server : Restart on r1",
    ]


def test_nothing_changed_nothing_named() -> None:
    assert changed_tasks("TASK [x] ***\nok: [r1]\n") == []
    assert changed_tasks(None) == []


def test_recap_counts_per_host() -> None:
    assert recap_changed(RUN) == {"r1": 1, "r2": 1, "r3": 0}
    assert sum(recap_changed(RUN).values()) == 2
    assert recap_changed("no recap") == {}


PROFILED = """
PLAY [Redis servers] ***********************************************************

TASK [Gathering Facts] *********************************************************
Friday 27 November 2026  08:47:51 +0000 (0:00:00.284)       0:00:07.229 *******
ok: [r1]

TASK [redis_server : Install | Server packages from Debian] ********************
Friday 27 November 2026  08:47:53 +0000 (0:00:01.500)       0:00:08.729 *******
ok: [r1]

TASK [redis_server : Config | Start the server] ********************************
Friday 27 November 2026  08:47:55 +0000 (0:00:02.250)       0:00:10.979 *******
ok: [r1]

PLAY [Redis Sentinels] *********************************************************

TASK [redis_sentinel : Install | Sentinel packages from Debian] ****************
Friday 27 November 2026  08:47:56 +0000 (0:00:01.000)       0:00:11.979 *******
ok: [r1]

PLAY RECAP *********************************************************************
r1                         : ok=4    changed=0    unreachable=0    failed=0    skipped=0

TASKS RECAP ********************************************************************
Friday 27 November 2026  08:48:56 +0000 (0:01:00.125)       0:01:12.104 *******
"""


def test_seconds_by_role_adds_each_step_to_its_role() -> None:
    # Each task's line gives the time of the task before it (the Sentinels' play start is in
    # the last redis_server task); the first line's 0.284 s is from before this output began.
    assert seconds_by_role(PROFILED) == {"other": 1.5, "redis_server": 3.25, "redis_sentinel": 60.125}
    assert seconds_by_role("") == {}
