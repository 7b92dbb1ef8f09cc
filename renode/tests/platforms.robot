*** Comments ***
tinybench: every tinybench platform loads on Renode and has what the backend relies on: the
console UART named `uart`, no DWT (a silent tag reading 0) and the MPU region that turns an
access to 0x30000000-0x3FFFFFFF into a MemManage fault. Needs no firmware:
    renode-test renode/tests/platforms.robot


*** Settings ***
Suite Setup         Setup
Suite Teardown      Teardown
Test Teardown       Test Teardown
Resource            ${RENODEKEYWORDS}


*** Keywords ***
Platform Should Load
    [Arguments]    ${name}
    Execute Command             mach create "${name}"
    Execute Command             machine LoadPlatformDescription @${CURDIR}/../platforms/${name}.repl
    ${peripherals}=             Execute Command    peripherals
    Should Contain              ${peripherals}    uart
    Should Contain              ${peripherals}    cpu
    ${cyccnt}=                  Execute Command    sysbus ReadDoubleWord 0xE0001004
    Should Be Equal As Integers    ${cyccnt}    0
    ${mpu_ctrl}=                Execute Command    sysbus ReadDoubleWord 0xE000ED94
    Should Be Equal As Integers    ${mpu_ctrl}    5


*** Test Cases ***
STM32F746 Platform Should Load
    Platform Should Load        stm32f746

NRF52840 Platform Should Load
    Platform Should Load        nrf52840
