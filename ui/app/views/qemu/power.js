// Power actions on a VM, each confirmed with the command it will run.
import { run } from '../../actions.js';
import { confirm } from '../../components/dialog.js';
import { vmLabel } from '../../components/tree.js';

export const POWER = {
    start: { label: 'Start', icon: 'play', verb: 'Start', danger: false, question: 'Start VM {vm}?' },
    shutdown: { label: 'Shutdown', icon: 'power', verb: 'Shut down', danger: false, question: 'Shut down VM {vm}? The guest is asked to power off (ACPI).' },
    stop: { label: 'Stop', icon: 'stop', verb: 'Stop', danger: true, question: 'Stop VM {vm} now? This is like pulling the power plug: unsaved data in the guest is lost.' },
    reboot: { label: 'Reboot', icon: 'reboot', verb: 'Reboot', danger: false, question: 'Reboot VM {vm}? The guest is asked to restart.' },
    reset: { label: 'Reset', icon: 'reboot', verb: 'Reset', danger: true, question: 'Reset VM {vm}? This is like pressing the reset button: unsaved data is lost.' },
    suspend: { label: 'Pause', icon: 'pause', verb: 'Pause', danger: false, question: 'Pause VM {vm}? Its CPUs stop until you resume it.' },
    resume: { label: 'Resume', icon: 'play', verb: 'Resume', danger: false, question: 'Resume VM {vm}?' },
};

/** Confirms, then runs POST …/status/<action> and follows its task. Resolves true when it ran. */
export async function powerAction(vm, action, { skipConfirm = false } = {}) {
    const a = POWER[action];
    const path = `/nodes/${vm.node}/qemu/${vm.vmid}/status/${action}`;
    if (!skipConfirm) {
        const ok = await confirm({
            title: `${a.verb} VM ${vm.vmid}`, message: a.question.replace('{vm}', vmLabel(vm)), okLabel: a.verb,
            danger: a.danger, request: { method: 'POST', path, params: {} },
        });
        if (!ok) return false;
    }
    await run('POST', path, {}, { label: `VM ${vm.vmid}: ${a.verb}` });
    return true;
}
