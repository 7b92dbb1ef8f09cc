*** Comments ***
tinybench: firmware built for a tinybench platform (the chip's own board) runs its training
steps and prints "TB:END status=ok"; a faulting firmware is reported as soon as it prints its
TB:FAULT line, never after a timeout. Build the ELFs for the native boards, e.g.
    python -c 'from tinybench.codegen.build import build_test_firmware as b; \
        b("det", "stm32f746", "native", out_dir="out", defines={"TB_STEPS": 1}); \
        b("fault", "stm32f746", "native", out_dir="out-fault", defines={"TB_FAULT_KIND": 1})'
then
    renode-test renode/tests/training_step.robot --variable TARGET:stm32f746 \
        --variable ELF:$PWD/out/det.elf --variable FAULT_ELF:$PWD/out-fault/fault.elf \
        [--variable CHECKSUM:0x1234abcd]
TARGET (stm32f746 or nrf52840) picks renode/platforms/<TARGET>.repl.


*** Settings ***
Suite Setup         Setup
Suite Teardown      Teardown
Test Teardown       Test Teardown
Resource            ${RENODEKEYWORDS}


*** Variables ***
${TARGET}           stm32f746
${ELF}              ${EMPTY}
${FAULT_ELF}        ${EMPTY}
${CHECKSUM}         ${EMPTY}
${UART}             sysbus.uart
# virtual seconds; the three paper models take at most a few virtual seconds per step
${TIMEOUT}          120


*** Keywords ***
Create Machine
    [Arguments]    ${elf}
    Should Not Be Empty         ${elf}    msg=pass the firmware with --variable ELF:/path/fw.elf
    Execute Command             mach create "tinybench"
    Execute Command             machine LoadPlatformDescription @${CURDIR}/../platforms/${TARGET}.repl
    Execute Command             sysbus LoadELF @${elf}
    Create Terminal Tester      ${UART}    timeout=${TIMEOUT}

Wait For Record
    [Documentation]    The next line that ends the run or reports its result; a fault or a
    ...                harness error is one of them, so the test never waits for a line that
    ...                will not come.
    ${record}=    Wait For Line On Uart    ^TB:(FAULT|ERROR|CHECKSUM|END) .*    treatAsRegex=true
    RETURN    ${record}[line]


*** Test Cases ***
Training Step Should End Ok
    Create Machine              ${ELF}
    Start Emulation
    ${line}=    Wait For Record
    Should Start With           ${line}    TB:CHECKSUM    msg=the run ended without a checksum: ${line}
    IF    $CHECKSUM
        Should Be Equal         ${line}    TB:CHECKSUM ${CHECKSUM}    ignore_case=true
    END
    ${line}=    Wait For Record
    Should Be Equal             ${line}    TB:END status=ok

Faulting Firmware Should Fail Fast
    Create Machine              ${FAULT_ELF}
    Start Emulation
    ${line}=    Wait For Record
    Should Start With           ${line}    TB:FAULT    msg=expected a fault report, got: ${line}
    Should Contain              ${line}    addr=0x30000000
    ${line}=    Wait For Record
    Should Be Equal             ${line}    TB:END status=fault
