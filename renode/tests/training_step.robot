*** Comments ***
tinybench: one firmware ELF built for a tinybench Renode platform must run its training steps
and print "TB:END status=ok". A fault ends the test at once (the firmware prints
"TB:END status=fault" from its fault handler), not after a timeout.

Run with Renode's test runner, e.g.:
    renode-test renode/tests/training_step.robot \
        --variable ELF:/abs/path/fw.elf \
        --variable PLATFORM:/abs/path/renode/platforms/stm32f746.repl \
        [--variable CHECKSUM:0x1234abcd] [--variable FAULT_ELF:/abs/path/fault.elf]
Build the ELFs for the native boards: tinybench.codegen.build.build_firmware(..., board="native").


*** Settings ***
Suite Setup         Setup
Suite Teardown      Teardown
Test Teardown       Test Teardown
Resource            ${RENODEKEYWORDS}


*** Variables ***
${ELF}              ${EMPTY}
${PLATFORM}         ${CURDIR}/../platforms/stm32f746.repl
${UART}             sysbus.uart
${TIMEOUT}          120
${CHECKSUM}         ${EMPTY}
${FAULT_ELF}        ${EMPTY}


*** Keywords ***
Create Machine
    [Arguments]    ${elf}
    Should Not Be Empty         ${elf}    msg=pass the firmware with --variable ELF:/path/fw.elf
    Execute Command             mach create "tinybench"
    Execute Command             machine LoadPlatformDescription @${PLATFORM}
    Execute Command             sysbus LoadELF @${elf}
    Create Terminal Tester      ${UART}    timeout=${TIMEOUT}

Wait For End Of Run
    [Documentation]    Returns the TB:END line; stops at the first of TB:CHECKSUM / TB:END so
    ...                that a fault is reported immediately.
    ${first}=    Wait For Line On Uart    ^TB:(CHECKSUM |END status=)    treatAsRegex=true
    ${line}=     Set Variable    ${first}[line]
    IF    $line.startswith("TB:END")
        RETURN    ${line}
    END
    IF    $CHECKSUM
        Should Contain    ${line}    ${CHECKSUM}    msg=unexpected checksum: ${line}
    END
    ${end}=      Wait For Line On Uart    TB:END status=
    RETURN    ${end}[line]


*** Test Cases ***
Training Step Should End Ok
    Create Machine              ${ELF}
    Start Emulation
    Wait For Line On Uart       TB:BEGIN
    ${end}=    Wait For End Of Run
    Should Contain              ${end}    status=ok    msg=firmware ended with: ${end}

Faulting Firmware Should Fail Fast
    Skip If    not $FAULT_ELF    no FAULT_ELF given
    Create Machine              ${FAULT_ELF}
    Start Emulation
    ${fault}=    Wait For Line On Uart    TB:FAULT
    Should Contain              ${fault}[line]    addr=
    ${end}=    Wait For Line On Uart    TB:END status=
    Should Contain              ${end}[line]    status=fault
